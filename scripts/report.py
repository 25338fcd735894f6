#!/usr/bin/python3
"""report.py: figures and one self-contained HTML page for a run or a comparison.

    /usr/bin/python3 scripts/report.py DIR [--out DIR/report] [--m3oe BUILD/m3oe] [--split test]
    m3oe report --run DIR [--out ...]           (the same, through the m3oe program)

DIR is either a run directory of `m3oe train` (config.txt, metrics.csv,
fusion_weights.csv, results.json) or a folder of `m3oe compare`
(comparison.json and one run directory per model and seed). The report goes
to DIR/report: PNG figures and index.html, which embeds them as data URIs, so
the page opens from disk with no server and no network (docs/report.md).

Run report:
  training.png    training loss and validation AUC per epoch (mean and per
                  cell), the best epoch marked
  fusion.png      the four fusion weights over the epochs (models that have them)
  gates.png       mean gate weight per (domain, task) cell and shared expert,
                  from DIR/gates-<split>.csv (`m3oe eval --run DIR --split S
                  --gates FILE`); with --m3oe BIN and no such file, this
                  script runs that command once and keeps the file
  test_cells.png  test AUC and log loss per cell
Comparison report:
  compare_auc.png     per-cell test AUC of every model, the seeds' standard
                      deviation as error bars
  ranking.png         the models ranked by mean test AUC
  compare_fusion.png  the fusion weights over the epochs of every model that
                      has them (one panel per model, its AutoML mode named),
                      mean over the seeds

Only the Python standard library and matplotlib (Debian: python3-matplotlib).
"""

import argparse
import base64
import csv
import html
import json
import os
import subprocess
import sys

INSTALL_HINT = ("apt-get install -y --no-install-recommends python3-matplotlib "
                "(Debian's package; then run this script with /usr/bin/python3)")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:  # training never needs this script
    sys.exit(f"report.py: matplotlib is not available to {sys.executable} ({e}).\n"
             f"Install it with: {INSTALL_HINT}")

DPI = 100
FUSION = ["alpha_d", "alpha_t", "beta_d", "beta_t"]


# ---------------------------------------------------------------- reading

def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_config(path):
    """config.txt: `key = value` lines, # comments."""
    cfg = {}
    if not os.path.exists(path):
        return cfg
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                cfg[k.strip()] = v.strip()
    return cfg


def read_json(path):
    with open(path) as f:
        return json.load(f)


def cell_name(c):
    return f"{c['domain']}/{c['task']}"


# ---------------------------------------------------------------- figures

class Figures:
    """Saves figures into out_dir, remembering each file and its pixel size."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.saved = []  # (file name, caption, width px, height px)

    def save(self, fig, name, caption):
        w, h = fig.get_size_inches()
        fig.tight_layout()
        fig.savefig(os.path.join(self.out_dir, name), dpi=DPI)
        plt.close(fig)
        self.saved.append((name, caption, int(round(w * DPI)), int(round(h * DPI))))


def plot_training(figs, metrics, best_epoch, title):
    epochs = [int(r["epoch"]) + 1 for r in metrics]
    cells = [k for k in metrics[0] if k.startswith("valid_auc[")]
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(epochs, [float(r["train_loss"]) for r in metrics], "o-", color="C0")
    ax_loss.set(xlabel="epoch", ylabel="training loss (sum over cells)", title="training loss")
    for i, c in enumerate(cells):
        ax_auc.plot(epochs, [float(r[c]) for r in metrics], "-", lw=1, alpha=0.7, color=f"C{i % 10}",
                    label=c[len("valid_auc["):-1])
    ax_auc.plot(epochs, [float(r["valid_mean_auc"]) for r in metrics], "o-", lw=2.5, color="black",
                label="mean")
    for ax in (ax_loss, ax_auc):
        ax.axvline(best_epoch + 1, color="red", ls="--", lw=1, label="best epoch" if ax is ax_auc else None)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_auc.set(xlabel="epoch", ylabel="validation AUC", title="validation AUC per cell and mean")
    ax_auc.legend(fontsize=7, loc="lower right", ncol=2)
    fig.suptitle(title, fontsize=10)
    figs.save(fig, "training.png",
              f"Training loss and validation AUC per epoch; the dashed line marks the best epoch ({best_epoch + 1}).")


def fusion_title(name, automl, rows):
    """The panel's title: the AutoML mode, and whether the weights never moved
    (automl = fixed, or a model that fixes them, like m3oe-no-automl)."""
    constant = all(float(r[w]) == float(rows[0][w]) for r in rows for w in FUSION)
    return f"{name}automl = {automl}" + (", weights constant" if constant else "")


def plot_fusion_panel(ax, rows, title):
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for i, w in enumerate(FUSION):
        ax.plot(epochs, [float(r[w]) for r in rows], "o-", ms=3, color=f"C{i}", label=w)
    # Zoomed to the values (they often move by a few hundredths), at least 0.1 tall.
    values = [float(r[w]) for r in rows for w in FUSION]
    lo, hi = min(values) - 0.02, max(values) + 0.02
    if hi - lo < 0.1:
        lo, hi = (lo + hi) / 2 - 0.05, (lo + hi) / 2 + 0.05
    ax.set(xlabel="epoch", ylabel="weight", title=title, ylim=(max(0.0, lo), min(1.0, hi)))
    ax.grid(alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)


def plot_fusion(figs, rows, automl):
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_fusion_panel(ax, rows, fusion_title("fusion weights, ", automl, rows))
    figs.save(fig, "fusion.png",
              f"The four fusion weights after each epoch (AutoML mode {automl}); a weight of an ablated module reads 0.")


def read_gates(path):
    """gates CSV -> (cells, experts, {(module, cell): [means]}, {(module, cell): [stds]})."""
    rows = read_csv(path)
    cells, experts, mean, std = [], [], {}, {}
    for r in rows:
        cell = f"{r['domain']}/{r['task']}"
        if cell not in cells:
            cells.append(cell)
        if r["expert"] not in experts:
            experts.append(r["expert"])
        mean.setdefault((r["module"], cell), []).append(float(r["mean"]))
        std.setdefault((r["module"], cell), []).append(float(r["std"]))
    return cells, experts, mean, std


def plot_gates(figs, path, split):
    cells, experts, mean, std = read_gates(path)
    modules = sorted({m for m, _ in mean})
    if not modules:
        return False
    fig, axes = plt.subplots(1, len(modules), figsize=(1.2 * len(experts) + 3, 0.5 * len(cells) + 1.8),
                             squeeze=False)
    for ax, module in zip(axes[0], modules):
        grid = [mean[(module, c)] for c in cells]
        im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=max(max(r) for r in grid), aspect="auto")
        for i, c in enumerate(cells):
            for k in range(len(experts)):
                ax.text(k, i, f"{grid[i][k]:.2f}\n±{std[(module, c)][k]:.2f}", ha="center", va="center",
                        fontsize=7, color="white" if grid[i][k] < 0.6 * im.norm.vmax else "black")
        ax.set_xticks(range(len(experts)), experts, rotation=30, fontsize=8)
        ax.set_yticks(range(len(cells)), cells, fontsize=8)
        ax.set(title=f"{module}: mean gate weight ({split})", xlabel="expert", ylabel="cell (domain/task)")
        fig.colorbar(im, ax=ax, fraction=0.05)
    figs.save(fig, "gates.png",
              f"Mean softmax weight (± standard deviation over the cell's rows, {split} split) each "
              "(domain, task) cell's gate gives each shared expert; each row sums to 1.")
    return True


def plot_test_cells(figs, test):
    names = [cell_name(c) for c in test["cells"]]
    fig, (ax_auc, ax_ll) = plt.subplots(1, 2, figsize=(11, 3.8))
    x = range(len(names))
    ax_auc.bar(x, [c["auc"] for c in test["cells"]], color="C0")
    ax_auc.axhline(test["mean_auc"], color="black", ls="--", lw=1, label=f"mean {test['mean_auc']:.4f}")
    lo, hi = min(c["auc"] for c in test["cells"]), max(c["auc"] for c in test["cells"])
    ax_auc.set(ylim=(max(0.0, lo - 0.05), min(1.0, hi + 0.03)), ylabel="test AUC", title="test AUC per cell")
    ax_ll.bar(x, [c["logloss"] for c in test["cells"]], color="C1")
    ax_ll.axhline(test["mean_logloss"], color="black", ls="--", lw=1, label=f"mean {test['mean_logloss']:.4f}")
    ax_ll.set(ylabel="test log loss", title="test log loss per cell")
    for ax in (ax_auc, ax_ll):
        ax.set_xticks(list(x), names, rotation=30, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    figs.save(fig, "test_cells.png", "Test AUC and log loss per (domain, task) cell at the best epoch.")


# ---------------------------------------------------------------- HTML

CHECK_SCRIPT = """
<script>
// The page checks itself (tests/report/test_report.sh reads the result from
// the DOM): every figure loaded at its stated size, no error and no console error.
var reportErrors = [];
window.addEventListener('error', function (e) {
  reportErrors.push('error: ' + (e.message || (e.target && e.target.src ? 'failed to load ' +
                    String(e.target.src).slice(0, 40) : 'unknown')));
}, true);
var consoleError = console.error;
console.error = function () { reportErrors.push('console.error: ' + Array.from(arguments).join(' '));
                              consoleError.apply(console, arguments); };
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.figure'), bad = [];
  imgs.forEach(function (img) {
    var w = +img.dataset.width, h = +img.dataset.height;
    if (!img.complete || img.naturalWidth !== w || img.naturalHeight !== h ||
        img.getBoundingClientRect().width <= 0)
      bad.push(img.alt + ': ' + img.naturalWidth + 'x' + img.naturalHeight + ', expected ' + w + 'x' + h);
  });
  var ok = bad.length === 0 && reportErrors.length === 0 && imgs.length > 0;
  var text = (ok ? 'OK' : 'FAIL') + ': ' + imgs.length + ' figures' +
             (bad.length ? '; ' + bad.join('; ') : '') + (reportErrors.length ? '; ' + reportErrors.join('; ') : '');
  document.getElementById('check').textContent = text;
});
</script>
"""

STYLE = """
body { font-family: sans-serif; max-width: 1150px; margin: 1em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 2px 8px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0 2em; } figcaption { font-size: 0.9em; color: #444; }
img.figure { max-width: 100%; height: auto; }
pre#check { color: #888; font-size: 0.8em; }
details { margin-bottom: 1.5em; }
"""


def html_table(header, rows):
    out = ["<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>")
    return "\n".join(out) + "</table>"


def write_page(out_dir, title, intro_html, sections_html, figs):
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{html.escape(title)}</title><style>{STYLE}</style>{CHECK_SCRIPT}</head><body>",
             f"<h1>{html.escape(title)}</h1>", intro_html]
    parts.append("<h2>Figures</h2>")
    for name, caption, w, h in figs.saved:
        with open(os.path.join(out_dir, name), "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        parts.append(f'<figure><img class="figure" alt="{name}" width="{w}" height="{h}" '
                     f'data-width="{w}" data-height="{h}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.extend(sections_html)
    parts.append('<pre id="check">not checked</pre></body></html>\n')
    path = os.path.join(out_dir, "index.html")
    with open(path, "w") as f:
        f.write("\n".join(parts))
    return path


def settings_html(cfg):
    return ("<details><summary>Settings (config.txt)</summary>" +
            html_table(["key", "value"], sorted(cfg.items())) + "</details>")


# ---------------------------------------------------------------- run report

def gates_file(run_dir, split, m3oe):
    path = os.path.join(run_dir, f"gates-{split}.csv")
    if os.path.exists(path) or not m3oe:
        return path
    print(f"report.py: running {m3oe} eval --run {run_dir} --split {split} --gates {path}", flush=True)
    subprocess.run([m3oe, "eval", "--run", run_dir, "--split", split, "--gates", path], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def run_report(run_dir, out_dir, m3oe, split):
    results = read_json(os.path.join(run_dir, "results.json"))
    cfg = read_config(os.path.join(run_dir, "config.txt"))
    metrics = read_csv(os.path.join(run_dir, "metrics.csv"))
    if not metrics:
        sys.exit(f"report.py: {run_dir}/metrics.csv has no epochs")
    figs = Figures(out_dir)
    title = f"{results['model']} on {results['data']} (seed {results['seed']})"
    plot_training(figs, metrics, results["best_epoch"], title)
    fusion_path = os.path.join(run_dir, "fusion_weights.csv")
    if os.path.exists(fusion_path) and read_csv(fusion_path):
        plot_fusion(figs, read_csv(fusion_path), results.get("automl", "?"))
    gates = gates_file(run_dir, split, m3oe)
    has_gates = os.path.exists(gates) and plot_gates(figs, gates, split)
    plot_test_cells(figs, results["test"])

    v = {cell_name(c): c for c in results["valid"]["cells"]}
    rows = [[cell_name(c), c["rows"], c["positives"], f"{v[cell_name(c)]['auc']:.4f}", f"{c['auc']:.4f}",
             f"{c['logloss']:.4f}"] for c in results["test"]["cells"]]
    rows.append(["mean", "", "", f"{results['valid']['mean_auc']:.4f}", f"{results['test']['mean_auc']:.4f}",
                 f"{results['test']['mean_logloss']:.4f}"])
    fw = results.get("fusion_weights")
    intro = (f"<p>Data: {html.escape(results['data'])}, {html.escape(results['split'])}. "
             f"Model {html.escape(results['model_type'])}, {results['parameters']} parameters, "
             f"AutoML mode {html.escape(str(results.get('automl', '?')))}. "
             f"{results['epochs_run']} epochs run, best epoch {results['best_epoch'] + 1}"
             f"{' (stopped early)' if results.get('stopped_early') else ''}, "
             f"{results['train_seconds']:.1f} s of training.</p>")
    if fw:
        intro += "<p>Fusion weights at the best epoch: " + ", ".join(
            f"{k} = {fw[k]:.3f}" for k in FUSION if k in fw) + ".</p>"
    if not has_gates:
        intro += (f"<p>No gate figure: {html.escape(gates)} is absent or empty (models without gates write "
                  f"none; make it with <code>m3oe eval --run DIR --split {split} --gates FILE</code>).</p>")
    sections = ["<h2>Per-cell metrics</h2>",
                html_table(["cell", "test rows", "test positives", "valid AUC", "test AUC", "test log loss"], rows),
                settings_html(cfg)]
    return write_page(out_dir, f"Run report: {title}", intro, sections, figs)


# ---------------------------------------------------------------- comparison report

def mean_rows(tables):
    """Per epoch, the mean over the seeds' fusion tables (epochs all seeds reached)."""
    n = min(len(t) for t in tables)
    return [{"epoch": str(i), **{w: sum(float(t[i][w]) for t in tables) / len(tables) for w in FUSION}}
            for i in range(n)]


def compare_report(cmp_dir, out_dir):
    c = read_json(os.path.join(cmp_dir, "comparison.json"))
    models, cells = c["models"], c["cells"]
    if not models:
        sys.exit(f"report.py: {cmp_dir}/comparison.json lists no models")
    figs = Figures(out_dir)

    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(cells) + 0.25 * len(cells) * len(models)), 4.5))
    width = 0.8 / len(models)
    lo = 1.0
    for i, m in enumerate(models):
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(cells))]
        means = [a["mean"] for a in m["cell_auc"]]
        stds = [a["std"] if a.get("n", 1) > 1 else 0 for a in m["cell_auc"]]
        lo = min(lo, min(mu - s for mu, s in zip(means, stds)))
        ax.bar(xs, means, width, yerr=stds, capsize=2, color=f"C{i % 10}",
               label=f"{m['model']} ({len(m['seeds'])} seeds)")
    ax.set_xticks(range(len(cells)), cells, rotation=20, fontsize=8)
    ax.set(ylabel="test AUC", title="test AUC per cell (mean ± std over seeds)", ylim=(max(0, lo - 0.03), None))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(4, len(models)))
    figs.save(fig, "compare_auc.png",
              "Test AUC per (domain, task) cell of every model; bars are the mean over the seeds, "
              "error bars the sample standard deviation.")

    ranked = sorted(models, key=lambda m: -m["mean_auc"]["mean"])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(ranked) + 1.5))
    ys = range(len(ranked))
    ax.barh(ys, [m["mean_auc"]["mean"] for m in ranked], xerr=[m["mean_auc"]["std"] for m in ranked],
            capsize=3, color="C0")
    ax.set_yticks(list(ys), [f"{r + 1}. {m['model']}" for r, m in enumerate(ranked)], fontsize=8)
    ax.invert_yaxis()
    lo = min(m["mean_auc"]["mean"] - m["mean_auc"]["std"] for m in ranked)
    ax.set(xlabel="mean test AUC over the cells", title="ranking by mean test AUC", xlim=(max(0, lo - 0.02), None))
    ax.grid(axis="x", alpha=0.3)
    figs.save(fig, "ranking.png", "The models ranked by mean test AUC over the cells (± std over the seeds).")

    panels = []  # (model, automl, mean fusion rows)
    for m in models:
        tables, automl = [], "?"
        for r in m["runs"]:
            run = os.path.join(cmp_dir, m["model"], f"seed-{r['seed']}")
            path = os.path.join(run, "fusion_weights.csv")
            if os.path.exists(path) and read_csv(path):
                tables.append(read_csv(path))
                automl = read_config(os.path.join(run, "config.txt")).get("automl", "?")
        if tables:
            panels.append((m["model"], automl, mean_rows(tables)))
    if panels:
        cols = min(3, len(panels))
        nrows = (len(panels) + cols - 1) // cols
        fig, axes = plt.subplots(nrows, cols, figsize=(4.5 * cols, 3.5 * nrows), squeeze=False)
        for ax, (model, automl, rows) in zip(axes.flat, panels):
            plot_fusion_panel(ax, rows, fusion_title(f"{model}: ", automl, rows))
        for ax in list(axes.flat)[len(panels):]:
            ax.axis("off")
        figs.save(fig, "compare_fusion.png",
                  "Fusion weights over the epochs of every model that has them (mean over the seeds), "
                  "with the AutoML mode of its runs.")

    def pm(s, scale=100):
        return f"{s['mean'] * scale:.2f}" + (f" ± {s['std'] * scale:.2f}" if s.get("n", 1) > 1 else "")

    rank_rows = [[r + 1, m["model"], pm(m["mean_auc"]), pm(m["mean_logloss"]), len(m["seeds"]), m["parameters"],
                  f"{m['seconds_per_epoch']['mean']:.1f}"] for r, m in enumerate(ranked)]
    cell_rows = [[m["model"]] + [pm(a) for a in m["cell_auc"]] for m in models]
    intro = (f"<p>Data: {html.escape(c['data'])}, {html.escape(c['split'])}. Test metrics x100, mean ± sample "
             f"standard deviation over the seeds. Made by:</p><pre>{html.escape(c.get('command', ''))}</pre>")
    if c.get("warnings"):
        intro += "<p>Warnings: " + html.escape("; ".join(map(str, c["warnings"]))) + "</p>"
    sections = ["<h2>Ranking</h2>",
                html_table(["rank", "model", "mean AUC", "mean log loss", "seeds", "parameters", "s/epoch"], rank_rows),
                "<h2>Test AUC per cell</h2>", html_table(["model"] + cells, cell_rows)]
    return write_page(out_dir, f"Comparison report: {os.path.basename(os.path.abspath(cmp_dir))}", intro, sections, figs)


def main():
    ap = argparse.ArgumentParser(description="Figures and an HTML page for an m3oe run or comparison.")
    ap.add_argument("dir", help="a run directory (results.json) or a compare folder (comparison.json)")
    ap.add_argument("--out", help="where to write the report (default DIR/report)")
    ap.add_argument("--m3oe", help="the m3oe program, to make DIR/gates-SPLIT.csv when it is missing")
    ap.add_argument("--split", default="test", choices=["train", "valid", "test"],
                    help="the split of the gate statistics (default test)")
    a = ap.parse_args()
    out = a.out or os.path.join(a.dir, "report")
    os.makedirs(out, exist_ok=True)
    if os.path.exists(os.path.join(a.dir, "comparison.json")):
        page = compare_report(a.dir, out)
    elif os.path.exists(os.path.join(a.dir, "results.json")):
        page = run_report(a.dir, out, a.m3oe, a.split)
    else:
        sys.exit(f"report.py: {a.dir} has neither results.json (a run) nor comparison.json (m3oe compare); "
                 "for a run with several seeds, give one seed-<seed> folder")
    print(f"wrote {page}")


if __name__ == "__main__":
    main()
