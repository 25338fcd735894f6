#!/usr/bin/env python3
"""PyTorch reference of M3oE for the C++ parity test.

Run with the system Python that has torch 1.13:

    /usr/bin/python3 scripts/parity_reference.py [output path]

Builds the MovieLens-1M configuration of the model (D = 3 domains, T = 2
tasks, N = 4 shared experts, embedding dim 16, fcn dims 512/256/256/64,
1 dense feature), written here from the model's equations
(docs/model.md), with the C++ model's parameter names. To keep the file small
the three large vocabularies (user_id 6040, movie_id 3706, zip 3439) are cut
to 64 ids each; every other size is the real one (the architecture is not
shrunk: all 576,482 parameters outside the embedding tables are here).

It draws a batch of 512 random rows over all 3 domains, runs forward and
backward, then 5 Adam steps (lr 1e-2, weight decay 1e-5 on every parameter,
the four fusion weights included: the authors' `official` grouping) on that
batch. The reference run is in float64; the same run in float32 is compared
with it and its per-tensor error stored too, so the C++ test can show how its
float error compares with PyTorch's own. Output: tests/data/parity_m3oe.bin
(format: m3oe/io/tensor_file.hpp):

    meta.parity_version [1,1]    PARITY_VERSION below
    meta.config         [1,6]    D, T, N, embedding dim, batch rows, Adam steps
    meta.adam           [1,2]    lr, weight decay (as float32)
    meta.vocab          [1,7]    vocabulary of each sparse feature
    batch.sparse [B,7], batch.dense [B,1], batch.domain [B,1], batch.labels [B,2]
    init.<name>         every parameter before training, C++ layout
    out.logits, out.probs [B,2], out.loss [1,1], out.gate.<t> [B,N]
    grad.<name>         the gradient of out.loss
    train.losses [1,5]  the loss before each Adam step
    train.final_loss    the loss after the 5 steps
    delta5.<name>       weights after the 5 steps minus init.<name>
    torch_f32.<item>    [1,1] PyTorch float32's max|diff|/max|ref| for that item
                        (items: out.*, grad.<name>, train.losses[s],
                        train.final_loss, step5.<name>)

C++ layout: a Linear weight is stored [in,out] (nn.Linear holds [out,in]);
biases and LayerNorm vectors are [1,n].

Size: large tensors (>= 4096 entries) are stored quantised with a per-tensor
float32 scale. The initial weights are first ROUNDED to an int8 grid
(q8: 255 levels over the tensor's range), so the stored values are exactly
the ones both implementations start from. Gradients and 5-step deltas are
stored as q16 (65,535 levels): their rounding is at most 1/65,534 of the
tensor's largest entry (the ~1.5e-5 floor the test reports for them). Small
tensors are float32. The file is about 3.1 MB.
"""
import copy
import pathlib
import struct
import sys

import numpy as np
import torch
from torch import nn

PARITY_VERSION = 1
FILE_VERSION = 1  # m3oe/io/tensor_file.hpp kReferenceFileVersion (version 1: no checksums, read only by C++)
SEED = 2022
FEATURES = [("user_id", 64), ("movie_id", 64), ("gender", 2), ("occupation", 21),
            ("zip", 64), ("cate_id", 18), ("domain_indicator", 3)]
N_DENSE = 1
D, T, N = 3, 2, 4
EMB = 16
FCN = [512, 256, 256, 64]
ROWS = 512
STEPS = 5
LR, WEIGHT_DECAY = 1e-2, 1e-5
BIG = 4096  # tensors with at least this many entries are stored quantised


class MLP(nn.Module):
    """Linear -> LayerNorm -> ReLU per consecutive pair of dims."""

    def __init__(self, dims):
        super().__init__()
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.LayerNorm(b), nn.ReLU()]
        self.domain_specific = nn.Sequential(*layers)

    def forward(self, x):
        return self.domain_specific(x)


class Embedder(nn.Module):
    def __init__(self, features=FEATURES):
        super().__init__()
        self.features = features
        self.embed_dict = nn.ModuleDict()
        for name, vocab in features:
            table = nn.Embedding(vocab, EMB)
            nn.init.normal_(table.weight, 0.0, 1e-4)
            self.embed_dict[name] = table

    def forward(self, sparse, dense):
        parts = [self.embed_dict[name](sparse[:, k]) for k, (name, _) in enumerate(self.features)]
        return torch.cat(parts + [dense], dim=1)


class Star(nn.Module):
    """f = x (W_d * W_sh) + b_d + b_sh for a row of domain d."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.shared_weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_in, n_out)))
        self.shared_bias = nn.Parameter(torch.zeros(1, n_out))
        self.slot_weight = nn.ParameterList(
            [nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_in, n_out))) for _ in range(D)])
        self.slot_bias = nn.ParameterList([nn.Parameter(torch.zeros(1, n_out)) for _ in range(D)])

    def forward(self, x, domain):
        # As the authors' code: every row through every domain's product, each
        # row keeps its own domain's (the C++ computes each domain's rows only).
        f = torch.zeros(x.shape[0], self.shared_weight.shape[1])
        for d in range(D):
            out = x @ (self.slot_weight[d] * self.shared_weight) + self.slot_bias[d] + self.shared_bias
            f = torch.where((domain == d).unsqueeze(1), out, f)
        return f


class M3oE(nn.Module):
    # features: (name, vocabulary) of each sparse feature; scripts/bench_torch.py
    # passes the full ML-1M vocabularies.
    def __init__(self, features=FEATURES):
        super().__init__()
        n_in = len(features) * EMB + N_DENSE
        star_out, hidden, out = FCN[0], FCN[1], FCN[-1]
        for name in ("e_exp_d", "e_exp_t", "e_bal_d", "e_bal_t"):
            setattr(self, name, nn.Parameter(torch.ones(1, 1)))  # raw 1.0
        self.embedding = Embedder(features)
        self.star = Star(n_in, star_out)
        self.star_mlp = MLP([star_out, hidden])
        self.skip_conn = MLP([n_in, hidden])
        self.expert = nn.ModuleList([MLP(FCN[2:]) for _ in range(N)])
        self.domain_expert = nn.ModuleList([MLP(FCN[2:]) for _ in range(D)])
        self.task_expert = nn.ModuleList([MLP(FCN[2:]) for _ in range(T)])
        # cell (d,t) is index t*D + d, as in the authors' code
        self.gate = nn.ModuleList(
            [nn.Sequential(nn.Linear(hidden, N), nn.Softmax(dim=1)) for _ in range(D * T)])
        self.tower = nn.ModuleList(
            [nn.Sequential(nn.Linear(out, out), nn.LayerNorm(out), nn.ReLU(), nn.Linear(out, 1))
             for _ in range(D * T)])

    @staticmethod
    def balance(experts, own, beta):
        """beta * own + (1-beta)/(n-1) * each other; the own expert alone if n = 1."""
        mixed = beta * experts[own]
        for j, e in enumerate(experts):
            if j != own:
                mixed = mixed + (1 - beta) / (len(experts) - 1) * e
        return mixed

    def forward(self, sparse, dense, domain):
        x = self.embedding(sparse, dense)
        h = self.star_mlp(self.star(x, domain)) + self.skip_conn(x)
        h_gate = h.detach()  # the gates get no gradient into h
        shared = torch.stack([e(h) for e in self.expert], dim=1)  # [B,N,64]
        dom = [e(h) for e in self.domain_expert]
        task = [e(h) for e in self.task_expert]
        alpha_d, alpha_t = torch.sigmoid(self.e_exp_d), torch.sigmoid(self.e_exp_t)
        beta_d, beta_t = torch.sigmoid(self.e_bal_d), torch.sigmoid(self.e_bal_t)
        logits, gates = [], []
        for t in range(T):
            column = torch.zeros(x.shape[0])
            gate_rows = torch.zeros(x.shape[0], N)
            for d in range(D):
                i = t * D + d
                g = self.gate[i](h_gate)  # [B,N]
                s = torch.bmm(g.unsqueeze(1), shared).squeeze(1)
                z = s + alpha_d * self.balance(dom, d, beta_d) + alpha_t * self.balance(task, t, beta_t)
                mine = domain == d
                column = torch.where(mine, self.tower[i](z).squeeze(1), column)
                gate_rows = torch.where(mine.unsqueeze(1), g, gate_rows)
            logits.append(column)
            gates.append(gate_rows.detach())
        logits = torch.stack(logits, dim=1)
        return logits, torch.sigmoid(logits), gates


def m3oe_loss(probs, labels, domain):
    """Sum over (d,t) of the mean BCE over domain d's rows (paper Eq. 12)."""
    bce = nn.BCELoss()
    total = 0
    for t in range(T):
        for d in range(D):
            mine = domain == d
            if mine.any():
                total = total + bce(probs[mine, t], labels[mine, t])
    return total


def cpp_layout(model):
    """Names of the nn.Linear weights, which the C++ stores transposed."""
    return {name + ".weight" for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def as_matrix(t):
    t = t.detach().to(torch.float32)
    return t.reshape(1, -1) if t.dim() < 2 else t


def quantize(w, levels):
    """Per-tensor scale and integer codes with |q| <= levels; value = float32(q) * scale."""
    amax = float(np.abs(w).max()) if w.size else 0.0
    scale = np.float32(amax / levels) if amax > 0 else np.float32(1.0)
    q = np.clip(np.rint(w / scale), -levels, levels)
    return scale, q


class TensorWriter:
    def __init__(self):
        self.records = []

    def add(self, name, t, dtype="f32"):
        w = np.ascontiguousarray(as_matrix(torch.as_tensor(t)).numpy(), dtype=np.float32)
        if dtype == "auto":
            dtype = "q16" if w.size >= BIG else "f32"
        if dtype == "f32":
            rows, cols = w.shape
            self.records.append(self.head(name, 0, rows, cols) + w.astype("<f4").tobytes())
        elif dtype == "q16":
            self.add_codes(name, *quantize(w, 32767), "q16")
        else:
            raise ValueError(dtype)

    def add_codes(self, name, scale, q, dtype):
        """Integer codes q [rows,cols] with value float32(q) * scale."""
        rows, cols = q.shape
        code, fmt = {"q16": (1, "<i2"), "q8": (2, "<i1")}[dtype]
        self.records.append(self.head(name, code, rows, cols) + struct.pack("<f", scale)
                            + q.astype(fmt).tobytes())

    @staticmethod
    def head(name, dtype, rows, cols):
        return struct.pack("<I", len(name.encode())) + name.encode() + struct.pack("<III", dtype, rows, cols)

    def save(self, path):
        data = b"M3OETNSR" + struct.pack("<II", FILE_VERSION, len(self.records)) + b"".join(self.records)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return len(data)


def main():
    out_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
        pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "parity_m3oe.bin"
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = M3oE()
    transposed = cpp_layout(model)

    def cpp(name, t):
        return t.detach().t() if name in transposed else t.detach()

    # Round the large initial tensors to their q8 grid (in C++ layout), so the
    # stored codes give exactly the values both implementations start from.
    init_codes = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            w = cpp(name, p).numpy()
            if w.size >= BIG:
                scale, q = quantize(w, 127)
                init_codes[name] = (scale, q)
                exact = torch.from_numpy(q.astype(np.float32) * scale)
                p.copy_(exact.t() if name in transposed else exact)

    sparse = torch.stack([torch.randint(0, v, (ROWS,)) for _, v in FEATURES], dim=1)
    domain = torch.randint(0, D, (ROWS,))
    sparse[:, -1] = domain  # the domain_indicator feature is the domain
    dense = torch.rand(ROWS, N_DENSE)
    labels = torch.randint(0, 2, (ROWS, T)).to(torch.float32)
    assert all((domain == d).any() for d in range(D))

    w = TensorWriter()
    w.add("meta.parity_version", torch.tensor([[PARITY_VERSION]]))
    w.add("meta.config", torch.tensor([[D, T, N, EMB, ROWS, STEPS]]))
    w.add("meta.adam", torch.tensor([[LR, WEIGHT_DECAY]]))
    w.add("meta.vocab", torch.tensor([[v for _, v in FEATURES]]))
    w.add("batch.sparse", sparse)
    w.add("batch.dense", dense)
    w.add("batch.domain", domain.unsqueeze(1))
    w.add("batch.labels", labels)
    init = {name: cpp(name, p).clone() for name, p in model.named_parameters()}
    for name, t in init.items():
        if name in init_codes:
            w.add_codes("init." + name, *init_codes[name], "q8")
        else:
            w.add("init." + name, t)

    # The reference run is in float64 (the "truth"); the same run in float32
    # measures how far PyTorch's own float32 lands from it, tensor by tensor.
    truth = run(copy.deepcopy(model).double(), cpp, sparse, dense, domain, labels)
    torch32 = run(copy.deepcopy(model), cpp, sparse, dense, domain, labels)

    for key in ("out.logits", "out.probs", "out.loss", *(f"out.gate.{t}" for t in range(T))):
        w.add(key, truth[key])
    for name in init:
        w.add("grad." + name, truth["grad." + name], "auto")
    w.add("train.losses", torch.cat([truth[f"train.losses[{s}]"] for s in range(STEPS)], dim=1))
    w.add("train.final_loss", truth["train.final_loss"])
    for name in init:
        w.add("delta5." + name, truth["step5." + name] - init[name].double(), "auto")
    worst = {}
    for key, ref in truth.items():
        rel = relative_error(torch32[key], ref)
        w.add("torch_f32." + key, torch.tensor([[rel]]))
        group = key.split(".")[0]
        worst[group] = max(worst.get(group, (0.0, "")), (rel, key))

    size = w.save(out_path)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out_path}: {size / 1e6:.2f} MB, {n_params:,} parameters, loss "
          f"{truth['out.loss'].item():.6f} -> {truth['train.final_loss'].item():.6f} after {STEPS} Adam steps")
    print("PyTorch float32 against the float64 reference (max |diff| / max |ref| per tensor), worst:")
    for group, (rel, key) in sorted(worst.items()):
        print(f"  {group:6s} {rel:.3e}  {key}")


def relative_error(ours, ref):
    ref = ref.double()
    scale = ref.abs().max().item()
    diff = (ours.double() - ref).abs().max().item()
    return diff / scale if scale > 0 else diff


def run(model, cpp, sparse, dense, domain, labels):
    """Forward, backward and STEPS Adam steps; every result by its test name, C++ layout."""
    dtype = next(model.parameters()).dtype
    dense, labels = dense.to(dtype), labels.to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    out = {}
    for step in range(STEPS):
        opt.zero_grad()
        logits, probs, gates = model(sparse, dense, domain)
        loss = m3oe_loss(probs, labels, domain)
        loss.backward()
        if step == 0:
            out["out.logits"], out["out.probs"] = logits.detach(), probs.detach()
            out["out.loss"] = loss.detach().reshape(1, 1)
            for t, g in enumerate(gates):
                out[f"out.gate.{t}"] = g
            for name, p in model.named_parameters():
                out["grad." + name] = cpp(name, p.grad).clone()
        out[f"train.losses[{step}]"] = loss.detach().reshape(1, 1)
        opt.step()
    with torch.no_grad():
        _, probs, _ = model(sparse, dense, domain)
        out["train.final_loss"] = m3oe_loss(probs, labels, domain).reshape(1, 1)
    for name, p in model.named_parameters():
        out["step5." + name] = cpp(name, p).clone()
    return out


if __name__ == "__main__":
    main()
