// trainer.hpp: one training run of M3oE, a baseline or an ablation (any
// RecModel, chosen by TrainConfig::model), from data to test metrics.
//
// The loop (docs/training.md walks through it):
//   for each epoch:
//     shuffle the training rows (an Rng derived from (seed, epoch))
//     for each batch: loss = sum_{d,t} mean BCE over domain d's rows (Eq. 12),
//                     backward, Adam step on the weights; AutoML update of the
//                     structure parameters (M3oE's four fusion weights) as the
//                     mode says, for models that have them
//     evaluate on validation: AUC and log loss per (domain, task) cell
//     early stopping on the mean validation AUC (patience, best weights kept;
//     the mean validation log loss when no cell has an AUC, with a warning)
//     stop with an error on a non-finite loss or parameter
//     write metrics.csv, fusion_weights.csv (models with fusion weights) and
//     a checkpoint, atomically
//   restore the best weights, evaluate on test, write results.json
#pragma once

#include "m3oe/baselines/config.hpp"
#include "m3oe/data/dataset.hpp"
#include "m3oe/metrics.hpp"
#include "m3oe/model.hpp"
#include "m3oe/model_interface.hpp"
#include "m3oe/train/config.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace m3oe::train {

// One line of metrics.csv: what an epoch did and how validation looked.
struct EpochLog {
  int epoch = 0;              // 0-based
  double train_loss = 0;      // mean of the epoch's step losses
  double seconds = 0;         // training time of the epoch (no evaluation)
  double rows_per_second = 0;
  double lr = 0;
  FusionWeights fusion;       // zeros for models without fusion weights
  std::optional<double> valid_auc, valid_logloss;  // means over the cells
  std::vector<std::optional<double>> cell_auc;     // [D*T], domain-major
};

struct RunResult {
  std::uint64_t seed = 0;
  std::string split;  // Splits::description
  int best_epoch = -1;
  // What chose best_epoch: "valid_mean_auc", or "valid_mean_logloss" (lower
  // is better) when no validation cell has both classes, so no AUC exists.
  std::string selection = "valid_mean_auc";
  bool stopped_early = false;
  std::vector<EpochLog> history;
  metrics::Evaluation best_valid, test;
  double train_seconds = 0;
};

// The data the config names (synthetic, MovieLens-1M, or a table);
// cfg.data_seed drives the synthetic generator and shuffled splits, so every
// training seed of a --seeds list sees the same data.
data::Splits load_data(const TrainConfig& cfg);
// The M3oE configuration for a config and the data's schema.
M3oEConfig model_config(const TrainConfig& cfg, const data::Schema& schema);
// The baselines' sizes for a config: embedding_dim, hidden {domain_dim,
// hidden_dim}, repr expert_dim, experts = shared_experts.
baselines::BaselineConfig baseline_config(const TrainConfig& cfg, const data::Schema& schema);
// The model cfg.model names, freshly initialised from `rng`.
std::unique_ptr<RecModel> make_model(const TrainConfig& cfg, const data::Schema& schema, Rng& rng);

// Predicted probabilities [rows, T] of `ds` in batches of `batch`, no graph.
// Put the model in eval mode first (model.eval()): STAR's partitioned
// normalisation uses its moving averages only then.
std::vector<float> predict(const RecModel& model, const data::Dataset& ds, std::int64_t batch);
// predict() + metrics::evaluate.
metrics::Evaluation evaluate(const RecModel& model, const data::Dataset& ds, std::int64_t batch);

// The structure gradient of one bilevel AutoML step (docs/training.md, "The
// AutoML modes"), as train_run computes it before each of its structure
// optimizer steps:
//   bilevel1  dL_val(w, a)/da on valid_batch (first order; train_batch unused)
//   bilevel2  DARTS' second-order approximation on both batches, with the
//             virtual SGD step xi (train_run passes the current lr)
// The result is in the gradients of model.structure_parameters(); the weights'
// values are unchanged (their gradients are not meaningful: clear them before
// a weight step). The caller then steps its structure optimizer. Throws
// std::invalid_argument for the other modes.
void bilevel_structure_grad(RecModel& model, AutoMLMode mode, const data::Batch& train_batch,
                            const data::Batch& valid_batch, double xi);

// True when at least one (domain, task) cell of `valid` has both a positive
// and a negative label, so that validation AUC can rank the epochs.
bool validation_has_auc(const data::Dataset& valid);

// Everything train_run checks before it writes anything: the splits, the
// model and optimizer settings, the learning rate of every epoch and, with
// cfg.resume and a checkpoint in run_dir, that the checkpoint is whole and was
// trained with the same settings and data (run_dir.hpp). Throws on the first
// problem; writes nothing.
void check_run(const TrainConfig& cfg, const data::Splits& splits, std::uint64_t seed,
               const std::string& run_dir);

// Trains one seed into `run_dir` (created if needed). With cfg.resume and a
// checkpoint in run_dir, continues from it and ends exactly where the
// uninterrupted run would have. A non-finite loss or parameter stops it with
// an error naming the epoch and step; the last checkpoint (of the last good
// epoch) stays as it was.
RunResult train_run(const TrainConfig& cfg, const data::Splits& splits, std::uint64_t seed,
                    const std::string& run_dir);

}  // namespace m3oe::train
