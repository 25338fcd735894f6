#!/usr/bin/env python3
"""The include graph points down: autograd <- layers <- optim <- m3oe.

A file in one of these folders may include project headers from its own folder
and from the folders before it in LAYERS, never from a folder after it. So the
generic library (autograd, layers, optim) builds and reads without the M3oE
application, and a learner can take it on its own.

Usage: check_layering.py SOURCE_ROOT   (exit 1 and one line per violation)
"""
import pathlib
import re
import sys

LAYERS = ["autograd", "layers", "optim", "m3oe"]
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def main(root: pathlib.Path) -> int:
    violations = []
    checked = 0
    for rank, folder in enumerate(LAYERS):
        allowed = set(LAYERS[: rank + 1])
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".hpp", ".h", ".cpp", ".cu"):
                continue
            checked += 1
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                top = match.group(1).split("/", 1)[0]
                if top in LAYERS and top not in allowed:
                    violations.append(
                        f"{path.relative_to(root)}:{number}: includes \"{match.group(1)}\"; "
                        f"{folder}/ may include only {', '.join(sorted(allowed))}/")
    for v in violations:
        print(v)
    print(f"checked {checked} files: {len(violations)} upward includes")
    return 1 if violations or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
