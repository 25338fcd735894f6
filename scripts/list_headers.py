#!/usr/bin/env python3
"""Prints the library's headers (autograd/, layers/, optim/, m3oe/), one path a
line relative to the source root, for meson's install_headers."""
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
for folder in ("autograd", "layers", "optim", "m3oe"):
    for path in sorted((root / folder).rglob("*")):
        if path.suffix in (".hpp", ".h"):
            print(path.relative_to(root).as_posix())
