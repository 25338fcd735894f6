// results.hpp: what a run writes and prints.
//
//   <run>/config.txt          the settings (m3oe train --config repeats the run)
//   <run>/metrics.csv         one row per epoch: loss, speed, lr, fusion weights,
//                             validation mean AUC / log loss and each cell's AUC
//   <run>/fusion_weights.csv  one row per epoch: alpha_d, alpha_t, beta_d, beta_t
//                             (only for models with fusion weights)
//   <run>/checkpoint.bin      see checkpoint.hpp
//   <run>/results.json        best epoch, validation and test metrics per cell
//   <out>/summary.md|json     with several seeds: mean and std per cell
// Every file is written atomically.
#pragma once

#include "m3oe/train/trainer.hpp"

#include <map>
#include <string>
#include <vector>

namespace m3oe::train {

// The per-epoch log of one run, kept as rows and written as CSV. It travels
// inside checkpoints (to_meta / restore) so a resumed run's files are whole.
class RunLog {
 public:
  // `fusion`: the model has fusion weights (fusion_weights.csv, and the
  // alpha/beta part of the console line).
  explicit RunLog(const data::Schema& schema, bool fusion = true) : schema_(schema), fusion_(fusion) {}
  void add_epoch(const EpochLog& e, bool is_best);
  // One console line for an epoch.
  std::string epoch_line(const EpochLog& e) const;
  std::map<std::string, std::string> to_meta() const;
  void restore(const std::map<std::string, std::string>& meta);
  void write_files(const std::string& run_dir) const;
  const std::vector<EpochLog>& history() const { return epochs_; }
  double train_seconds() const;
  std::string metrics_csv() const;
  std::string fusion_csv() const;

 private:
  data::Schema schema_;
  bool fusion_;
  std::vector<EpochLog> epochs_;
  std::vector<int> best_marks_;
};

// The tensors whose names start with `prefix`, with the prefix removed.
NamedTensors select_prefixed(const NamedTensors& all, const std::string& prefix);
// Appends `in` to `out` with `prefix` added to every name.
void append_prefixed(NamedTensors& out, const std::string& prefix, const NamedTensors& in);

void write_results_json(const std::string& path, const TrainConfig& cfg, const RunResult& r,
                        const RecModel& model);

// Mean and sample standard deviation (n-1) over seeds of each cell's test AUC
// and log loss, the mean AUC and the mean log loss, as a Markdown table.
std::string format_seed_summary(const std::vector<RunResult>& runs, const data::Schema& schema);
void write_seed_summary(const std::string& out_dir, const TrainConfig& cfg,
                        const std::vector<RunResult>& runs, const data::Schema& schema);

}  // namespace m3oe::train
