#!/usr/bin/env python3
"""PyTorch side of the speed comparison (docs/performance.md).

Run with the system Python that has torch 1.13:

    /usr/bin/python3 scripts/bench_torch.py --threads 2 [--batches 256,4096,40960]
                                            [--cases train_step,inference]

Times the PyTorch reference M3oE of scripts/parity_reference.py in the
configuration benchmarks/bench_step.cpp times ours in: the ML-1M schema with
its full vocabularies, N = 4 shared experts, embedding 16, fcn dims
512/256/256/64, and each row through its own domain's cells only (the
authors' code runs every row through all D domains and keeps one; the C++
model, and RoutedM3oE here, gather each domain's rows instead).

    train_step   zero_grad, forward, m3oe_loss, backward, Adam step
                 (lr 1e-2, weight decay 1e-5, foreach kernels)
    inference    forward under torch.inference_mode()

Random batch as bench_step's: ids uniform within each vocabulary (the
domain_indicator feature = the row's domain), domains uniform over the 3,
dense uniform in [0,1), labels Bernoulli(0.5), one fixed seed.

Threads: torch.set_num_threads(P), and OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
MKL_NUM_THREADS = P and OMP_WAIT_POLICY = --wait-policy (default PASSIVE:
Debian's torch keeps OpenBLAS threads of its own beside OpenMP's, and
spinning ones take the cores from each other) in the environment. The
OpenMP runtime reads those when torch loads, so when they are not already
set this script re-executes itself with them set, before importing torch.

Output: one JSON object per line and case:
    {"impl": "torch", "case": "train_step", "batch": 4096, "threads": 2,
     "rows_per_s": ..., "step_s": [per-step seconds of each repetition],
     "step_s_median": ..., "warmup_steps": ..., "torch": "1.13..."}
rows_per_s = batch / the median over repetitions of the per-step time.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

SEED = 2024
LR, WEIGHT_DECAY = 1e-2, 1e-5
# m3oe::ml1m_reference_schema(): the full ML-1M vocabularies.
ML1M_FEATURES = [("user_id", 6040), ("movie_id", 3706), ("gender", 2), ("occupation", 21),
                 ("zip", 3439), ("cate_id", 18), ("domain_indicator", 3)]
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_env(threads, wait_policy):
    """The variables to set, and those to remove ('default': OMP_WAIT_POLICY unset)."""
    env = {name: str(threads) for name in THREAD_ENV}
    if wait_policy != "default":
        env["OMP_WAIT_POLICY"] = wait_policy
    return env, ([] if wait_policy != "default" else ["OMP_WAIT_POLICY"])


def ensure_thread_env(threads, wait_policy):
    """Re-executes this script with the thread variables set, if they are not."""
    wanted, unset = thread_env(threads, wait_policy)
    if all(os.environ.get(k) == v for k, v in wanted.items()) and not any(k in os.environ for k in unset):
        return
    env = {k: v for k, v in os.environ.items() if k not in unset}
    os.execve(sys.executable, [sys.executable] + sys.argv, {**env, **wanted})


def openblas_core():
    """The OpenBLAS kernel set this process's torch runs its matrix products
    on ('?' when no OpenBLAS is loaded): OpenBLAS picks it from the CPU
    unless OPENBLAS_CORETYPE names one."""
    import ctypes
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "libopenblas" in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "?"


def check_float_products(torch):
    """Exits when float32 products are wrong: an old OpenBLAS on a CPU it was
    not written for may pick kernels that compute wrong results (why some
    machines set OPENBLAS_CORETYPE), and a fast wrong product would be
    compared as if right."""
    g = torch.Generator().manual_seed(SEED)
    for m, k, n in ((512, 512, 512), (1365, 113, 512), (113, 1365, 256)):
        a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
        for got in (a @ b, (a.t().contiguous().t()) @ b, a @ b.t().contiguous().t()):
            exact = a.double() @ b.double()
            err = ((got.double() - exact).abs().max() / exact.abs().max()).item()
            if not err < 1e-4:
                sys.exit(f"bench_torch.py: float32 product {m}x{k}x{n} is wrong (relative error "
                         f"{err:.2e}) with OpenBLAS core {openblas_core()}; set OPENBLAS_CORETYPE")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batches", default="256,4096,40960",
                   help="comma-separated batch sizes (default: %(default)s)")
    p.add_argument("--wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE", "default"),
                   help="OMP_WAIT_POLICY ('default' leaves it unset; default: %(default)s)")
    p.add_argument("--cases", default="train_step,inference",
                   help="comma-separated, of train_step and inference (default: %(default)s)")
    p.add_argument("--repetitions", type=int, default=5,
                   help="timed repetitions per case; the median is reported (default: %(default)s)")
    p.add_argument("--min-time", type=float, default=0.3,
                   help="each repetition runs whole steps for at least this many seconds "
                        "(default: %(default)s)")
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be >= 1")
    try:
        args.batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        p.error(f"--batches '{args.batches}': expected comma-separated integers")
    if any(b < 1 for b in args.batches):
        p.error("--batches: every batch size must be >= 1")
    args.cases = args.cases.split(",")
    for c in args.cases:
        if c not in ("train_step", "inference"):
            p.error(f"--cases: unknown case '{c}' (train_step, inference)")
    if args.repetitions < 1:
        p.error("--repetitions must be >= 1")
    return args


def main():
    args = parse_args()
    ensure_thread_env(args.threads, args.wait_policy)

    import torch  # after the environment is final

    check_float_products(torch)
    core = openblas_core()

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import parity_reference as ref

    class RoutedM3oE(ref.M3oE):
        """The reference model with each row through its own domain's cells only.

        The same equations and parameters as ref.M3oE; as in the C++ model,
        the STAR product, the experts, gates and towers of domain d run on
        the rows of domain d (gathered), and the results go back in row order.
        """

        def forward(self, sparse, dense, domain):
            x = self.embedding(sparse, dense)
            rows = [torch.nonzero(domain == d).squeeze(1) for d in range(ref.D)]
            back = torch.argsort(torch.cat(rows))  # position of each row in the concatenation
            star = self.star
            f = torch.cat([x.index_select(0, r) @ (star.slot_weight[d] * star.shared_weight)
                           + star.slot_bias[d] + star.shared_bias
                           for d, r in enumerate(rows)]).index_select(0, back)
            h = self.star_mlp(f) + self.skip_conn(x)
            h_gate = h.detach()
            alpha_d, alpha_t = torch.sigmoid(self.e_exp_d), torch.sigmoid(self.e_exp_t)
            beta_d, beta_t = torch.sigmoid(self.e_bal_d), torch.sigmoid(self.e_bal_t)
            per_domain = []
            for d, r in enumerate(rows):
                hd, gd = h.index_select(0, r), h_gate.index_select(0, r)
                shared = torch.stack([e(hd) for e in self.expert], dim=1)  # [n_d,N,64]
                dom = [e(hd) for e in self.domain_expert]
                task = [e(hd) for e in self.task_expert]
                dom_mix = alpha_d * self.balance(dom, d, beta_d)
                columns = []
                for t in range(ref.T):
                    i = t * ref.D + d
                    g = self.gate[i](gd)  # [n_d,N]
                    s = torch.bmm(g.unsqueeze(1), shared).squeeze(1)
                    z = s + dom_mix + alpha_t * self.balance(task, t, beta_t)
                    columns.append(self.tower[i](z))
                per_domain.append(torch.cat(columns, dim=1))  # [n_d,T]
            logits = torch.cat(per_domain).index_select(0, back)
            return logits, torch.sigmoid(logits)

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    model = RoutedM3oE(ML1M_FEATURES)
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, foreach=True)

    def random_batch(rows):
        gen = torch.Generator().manual_seed(SEED + rows)
        domain = torch.randint(0, ref.D, (rows,), generator=gen)
        sparse = torch.stack([torch.randint(0, v, (rows,), generator=gen)
                              for _, v in ML1M_FEATURES], dim=1)
        sparse[:, -1] = domain  # domain_indicator
        dense = torch.rand(rows, ref.N_DENSE, generator=gen)
        labels = torch.randint(0, 2, (rows, ref.T), generator=gen).to(torch.float32)
        return sparse, dense, domain, labels

    # Check before timing: the routed forward gives the reference's logits
    # (ref.M3oE.forward runs every row through every domain and keeps one).
    with torch.no_grad():
        sparse, dense, domain, _ = random_batch(512)
        routed, _ = model(sparse, dense, domain)
        full, _, _ = ref.M3oE.forward(model, sparse, dense, domain)
        err = (routed - full).abs().max().item()
        if not err <= 1e-5 * max(1.0, full.abs().max().item()):
            sys.exit(f"bench_torch.py: the routed forward differs from the reference by {err:.3g}")

    def make_step(case, batch):
        sparse, dense, domain, labels = batch

        def train_step():
            opt.zero_grad(set_to_none=True)
            _, probs = model(sparse, dense, domain)
            loss = ref.m3oe_loss(probs, labels, domain)
            loss.backward()
            opt.step()
            return loss.item()

        def inference():
            with torch.inference_mode():
                _, probs = model(sparse, dense, domain)
                return probs[0, 0].item()

        return train_step if case == "train_step" else inference

    for rows in args.batches:
        batch = random_batch(rows)
        for case in args.cases:
            step = make_step(case, batch)
            # Warm-up: the first steps allocate Adam's moments and the
            # allocator's caches; keep going until 2 steps or 0.5 s.
            warmup, t0 = 0, time.perf_counter()
            while warmup < 2 or (time.perf_counter() - t0 < 0.5 and warmup < 50):
                step()
                warmup += 1
            one = (time.perf_counter() - t0) / warmup
            steps_per_rep = max(1, int(args.min_time / one))
            # Steps over a second each (40,960-row training): 3 repetitions
            # at most, to keep the whole run at a few minutes.
            reps = min(args.repetitions, 3) if one > 1.0 else args.repetitions
            per_step = []
            for _ in range(reps):
                t0 = time.perf_counter()
                for _ in range(steps_per_rep):
                    step()
                per_step.append((time.perf_counter() - t0) / steps_per_rep)
            med = statistics.median(per_step)
            print(json.dumps({"impl": "torch", "case": case, "batch": rows,
                              "threads": args.threads, "rows_per_s": rows / med,
                              "step_s_median": med, "step_s": per_step,
                              "steps_per_repetition": steps_per_rep,
                              "warmup_steps": warmup, "torch": torch.__version__,
                              "openblas_core": core}), flush=True)


if __name__ == "__main__":
    main()
