#!/usr/bin/env python3
"""Ours against PyTorch on the same work, in one run (docs/performance.md).

    /usr/bin/python3 scripts/compare_torch.py [--build build] [--out results.md]

PyTorch runs on the OpenBLAS kernels OpenBLAS picks for this CPU
(--torch-openblas-core auto: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which
some machines set for old OpenBLAS builds, are removed from its environment
after bench_torch.py has checked that its float products are right) and with
the heap policy our benchmark runs with (--torch-heap keep: GLIBC_TUNABLES
with the settings of keep_freed_memory()); docs/performance.md has why.

For each thread count P (default 1 and 2), with OMP_NUM_THREADS =
OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = P for both sides, and each side's
OMP_WAIT_POLICY (--torch-wait-policy, default PASSIVE, which Debian's torch
needs because its OpenBLAS threads and its OpenMP threads share the cores;
--ours-wait-policy, default unset: libgomp's own spin-then-sleep, what a
user of the library gets):
  1. <build>/benchmarks/bench_step: the training step and inference of the
     ML-1M M3oE (N = 4) at each batch size, P threads, plus fma_peak (the
     machine's FMA throughput at the library's SIMD width); the median of
     --repetitions runs of each case;
  2. scripts/bench_torch.py: the PyTorch reference model on the same shapes,
     P threads, the median of its repetitions.
Then prints one table row per case: our rows/s, PyTorch's, the ratio, our
GFLOP/s (FLOPs counted as the work each row needs, the formula in
bench_step.cpp) and the share of the FMA peak it reaches, page faults per
step and the process's peak RSS. --out writes the same table (Markdown) to a
file, atomically. Needs only the standard library besides what the two
benchmarks need; takes a few minutes on 2 cores.

The FMA peak of P threads is P times one core's: fma_peak/threads:1 (16
independent FMA chains at the library's SIMD width), the best of 10 runs,
unless --peak-gflops-per-thread gives it. fma_peak on P threads is printed
too, to show whether P threads really get P cores.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
CASES = ("train_step", "inference")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default="build",
                   help="meson build directory holding benchmarks/bench_step (default: %(default)s)")
    p.add_argument("--threads", default="1,2", help="thread counts (default: %(default)s)")
    p.add_argument("--batches", default="256,4096,40960", help="batch sizes (default: %(default)s)")
    p.add_argument("--repetitions", type=int, default=3,
                   help="repetitions of each case on each side; medians are reported (default: %(default)s)")
    p.add_argument("--peak-gflops-per-thread", type=float, default=None,
                   help="FMA peak of one core in GFLOP/s instead of measuring it")
    p.add_argument("--ours-wait-policy", default="default", choices=("PASSIVE", "ACTIVE", "default"),
                   help="OMP_WAIT_POLICY for our benchmark (default: %(default)s, which leaves it unset: "
                        "libgomp spins a while, then sleeps)")
    p.add_argument("--torch-wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE", "default"),
                   help="OMP_WAIT_POLICY for PyTorch (default: %(default)s)")
    p.add_argument("--torch-heap", default="keep", choices=("keep", "default"),
                   help="PyTorch's heap: 'keep' gives it the policy of our keep_freed_memory() "
                        "through GLIBC_TUNABLES (freed memory stays mapped, no mmap per large "
                        "block), 'default' glibc's own (default: %(default)s)")
    p.add_argument("--torch-openblas-core", default="auto", choices=("auto", "inherit"),
                   help="'auto' removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from PyTorch's "
                        "environment, so OpenBLAS picks its kernels for this CPU (bench_torch.py "
                        "checks its products first); 'inherit' keeps them (default: %(default)s)")
    p.add_argument("--python", default="/usr/bin/python3",
                   help="the Python with torch (default: %(default)s)")
    p.add_argument("--out", default=None, help="also write the table (Markdown) to this file")
    args = p.parse_args()
    try:
        args.threads = [int(t) for t in args.threads.split(",")]
        args.batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        p.error("--threads and --batches take comma-separated integers")
    if any(t < 1 for t in args.threads) or any(b < 1 for b in args.batches):
        p.error("--threads and --batches must be >= 1")
    if args.repetitions < 1:
        p.error("--repetitions must be >= 1")
    return args


def thread_env(threads, wait_policy):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    if wait_policy == "default":
        env.pop("OMP_WAIT_POLICY", None)
    else:
        env["OMP_WAIT_POLICY"] = wait_policy
    return env


def run(cmd, env):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"compare_torch.py: {cmd[0]} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout


def bench_step(bench, pattern, threads, repetitions, args):
    """bench_step's JSON report for the cases matching pattern: (runs, medians, context)."""
    out = run([str(bench), f"--benchmark_filter={pattern}", "--benchmark_format=json",
               f"--benchmark_repetitions={repetitions}"],
              thread_env(threads, args.ours_wait_policy))
    report = json.loads(out)
    runs, medians = [], []
    for b in report["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"compare_torch.py: {b['name']}: {b.get('error_message')}")
        if b.get("run_type") == "iteration":
            runs.append(b)
        elif b.get("aggregate_name") == "median":
            medians.append(b)
    if not runs:
        sys.exit(f"compare_torch.py: bench_step ran no case matching {pattern}")
    # With one repetition Google Benchmark reports the run itself, no aggregates.
    return runs, medians or runs, report.get("context", {})


def fma_peak(bench, threads, args):
    """The best of 10 fma_peak runs on `threads` threads (GFLOP/s): anything
    else on the machine only ever slows the loop down."""
    runs, _, context = bench_step(bench, f"^fma_peak/threads:{threads}/", threads, 10, args)
    return max(r["GFLOP/s"] for r in runs), context


def ours(bench, threads, batches, args):
    """{(case, batch): counters of the median run}. Each case runs in a
    process of its own, so its peak RSS is its own."""
    results = {}
    for case in CASES:
        for batch in batches:
            _, [r], _ = bench_step(bench, f"^{case}/batch:{batch}/threads:{threads}/", threads,
                                   args.repetitions, args)
            results[(case, batch)] = r
    return results


# glibc's malloc settings that match keep_freed_memory() (autograd/backend/
# allocator.cpp): no block served by mmap, freed memory never trimmed. Without
# them PyTorch maps and unmaps every large activation each step, and on a
# machine where page faults are slow (a VM) that, not arithmetic, sets its pace.
KEEP_HEAP_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295"


def torch_env(threads, args):
    env = thread_env(threads, args.torch_wait_policy)
    if args.torch_heap == "keep":
        env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES"), KEEP_HEAP_TUNABLES]))
    if args.torch_openblas_core == "auto":
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def torch_side(threads, batches, args):
    out = run([args.python, str(REPO / "scripts" / "bench_torch.py"), "--threads", str(threads),
               "--batches", ",".join(map(str, batches)), "--repetitions", str(args.repetitions),
               "--wait-policy", args.torch_wait_policy],
              torch_env(threads, args))
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {(r["case"], r["batch"]): r for r in rows}


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_revision():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def fmt_rate(x):
    return f"{x:,.0f}"


def main():
    args = parse_args()
    bench = pathlib.Path(args.build) / "benchmarks" / "bench_step"
    if not bench.is_file():
        sys.exit(f"compare_torch.py: {bench} not found; build it with\n"
                 f"  meson setup {args.build} && ninja -C {args.build} benchmarks/bench_step")
    load_before = os.getloadavg()
    started = datetime.datetime.now().isoformat(timespec="seconds")

    # The peak of P threads is P times one core's: what the P cores can do
    # when they are P real cores. fma_peak on P threads is measured as well
    # and printed; on a quiet machine with P free cores it reads P times
    # the one-thread value (if it does not, the vCPUs share a core).
    core_peak, context = fma_peak(bench, 1, args)
    measured = {t: (core_peak if t == 1 else fma_peak(bench, t, args)[0]) for t in args.threads}
    if args.peak_gflops_per_thread:
        core_peak = args.peak_gflops_per_thread
    peaks = {t: t * core_peak for t in args.threads}

    table = []
    torch_info = {}
    for threads in args.threads:
        mine = ours(bench, threads, args.batches, args)
        theirs = torch_side(threads, args.batches, args)
        torch_info = next(iter(theirs.values()), {})
        peak = peaks[threads]
        for case in CASES:
            for batch in args.batches:
                o, t = mine.get((case, batch)), theirs.get((case, batch))
                if o is None or t is None:
                    sys.exit(f"compare_torch.py: no result for {case} batch {batch} threads {threads}")
                gflops = o["GFLOP/s"]
                table.append({
                    "case": case, "batch": batch, "threads": threads,
                    "ours": o["rows/s"], "torch": t["rows_per_s"], "ratio": o["rows/s"] / t["rows_per_s"],
                    "gflops": gflops, "peak_pct": 100 * gflops / peak if peak else float("nan"),
                    "faults": o["faults/step"], "rss": o["peak_RSS_MiB"],
                })
    load_after = os.getloadavg()
    table.sort(key=lambda r: (CASES.index(r["case"]), r["batch"], r["threads"]))

    peak_note = (f"{core_peak:.1f} GFLOP/s per thread "
                 f"({'given' if args.peak_gflops_per_thread else 'measured: fma_peak on 1 thread, best of 10'}), "
                 "the peak of P threads taken as P times that; fma_peak measured on "
                 + ", ".join(f"{t} thread{'s' if t > 1 else ''}: {g:.1f}" for t, g in measured.items())
                 + " GFLOP/s")
    lines = [
        "M3oE ML-1M (N = 4): ours (benchmarks/bench_step) against PyTorch (scripts/bench_torch.py)",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical CPUs; "
        f"SIMD of our build: {context.get('simd', '?')}",
        f"- revision: {git_revision()}; started {started}",
        f"- load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}",
        f"- FMA peak ({context.get('simd', '?')}): {peak_note}",
        f"- environment of both: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = threads, "
        f"OMP_WAIT_POLICY: PyTorch {args.torch_wait_policy}, ours {args.ours_wait_policy} ('default' = unset)",
        f"- PyTorch: torch {torch_info.get('torch', '?')}, OpenBLAS kernels "
        f"{torch_info.get('openblas_core', '?')} (--torch-openblas-core {args.torch_openblas_core}), "
        f"heap {args.torch_heap}"
        + (f" (GLIBC_TUNABLES={KEEP_HEAP_TUNABLES}, as our keep_freed_memory())" if args.torch_heap == "keep" else " (glibc's defaults)"),
        f"- rows/s: medians of {args.repetitions} repetitions on each side",
        "",
        "| case | batch | threads | ours rows/s | PyTorch rows/s | ours / PyTorch | ours GFLOP/s "
        "| % of FMA peak | page faults / step | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        lines.append(f"| {r['case']} | {r['batch']} | {r['threads']} | {fmt_rate(r['ours'])} | "
                     f"{fmt_rate(r['torch'])} | {r['ratio']:.2f}x | {r['gflops']:.1f} | "
                     f"{r['peak_pct']:.0f}% | {r['faults']:.1f} | {r['rss']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        out = pathlib.Path(args.out)
        fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent or ".")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, out)
        except BaseException:
            os.unlink(tmp)
            raise
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
