// comparison.hpp: the table of `m3oe compare`, the paper's Table 2 layout.
//
// A comparison folder holds one run directory per (model, seed):
//
//   <out>/<model>/seed-<seed>/   config.txt, metrics.csv, checkpoint.bin, results.json
//   <out>/comparison.md          the table (written atomically)
//   <out>/comparison.json        the same numbers, and every run's
//
// A run is done when its results.json exists; merging reads every done run
// under <out>, whichever command (or machine) produced it, so a long
// comparison can run in parts.
//
// The table: one row per model; one column per (domain, task) cell with the
// test AUC x100, the mean AUC over the cells and the mean log loss x100 (the
// paper's "logloss" column), each as mean ± sample standard deviation over
// the seeds; the number of seeds, the parameter count, and the training time
// (seconds per epoch and per run, without evaluation). For MovieLens-1M the
// paper's numbers follow in a second table.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace m3oe::train {

// What the table needs from one results.json.
struct RunSummary {
  std::string model;
  std::uint64_t seed = 0;
  std::string data, split;
  long long parameters = 0;
  int epochs_run = 0, best_epoch = -1;
  double train_seconds = 0;
  std::vector<std::string> domains, tasks;  // the cells' names, domain-major
  std::vector<std::optional<double>> cell_auc, cell_logloss;  // [D*T], domain-major
  std::optional<double> mean_auc, mean_logloss;
};

// Reads one results.json; throws naming the file on a missing or bad file.
RunSummary read_run_summary(const std::string& path);

// <out>/<model>/seed-<seed>
std::string comparison_run_dir(const std::string& out, const std::string& model, std::uint64_t seed);

// The paper's Table 2 on MovieLens-1M (AUC x100, log loss x100) for the
// models it reports; cells empty for the ablations (the paper gives only
// their mean AUC).
struct PaperNumbers {
  std::vector<double> cells;  // d1t1, d1t2, d2t1, d2t2, d3t1, d3t2, or empty
  double mean_auc = 0;
  std::optional<double> logloss;
};
const PaperNumbers* paper_ml1m(const std::string& model);

struct Comparison {
  std::vector<std::string> models;                     // rows, in order
  std::map<std::string, std::vector<RunSummary>> runs;  // by model, ordered by seed
  std::vector<std::string> warnings;                   // e.g. runs on different splits
};

// Every done run under `out` of `models` (all model folders found when
// `models` is empty, in the paper's order then by name).
Comparison collect_comparison(const std::string& out, const std::vector<std::string>& models);

// The Markdown page: a title line, how it was made (`command`, may be
// empty), the table, the legend, the paper's numbers for MovieLens-1M.
std::string format_comparison(const Comparison& c, const std::string& command);
std::string comparison_json(const Comparison& c, const std::string& command);
// Writes <out>/comparison.md and <out>/comparison.json atomically.
void write_comparison(const std::string& out, const Comparison& c, const std::string& command);

}  // namespace m3oe::train
