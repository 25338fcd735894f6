// config.hpp: everything a training run is configured by, in one struct.
//
// A run is configured by a key=value text file (`--config FILE`) and/or
// command-line flags `--key value` (flags win). The same keys are written back
// to <run dir>/config.txt, so a run directory always says how it was made
// and `m3oe train --config runs/x/config.txt` repeats it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace m3oe::train {

enum class AutoMLMode {
  official,  // the authors' code: fusion weights in the main Adam + one extra
             // Adam step (lr structure_lr) on a training batch after each epoch
  bilevel1,  // first-order bilevel: fusion weights in their own Adam, updated on
             // validation batches every `bilevel_every` steps
  bilevel2,  // second-order bilevel (DARTS finite-difference approximation)
  fixed,     // fusion weights frozen at `fixed_value` (0.5 = the paper's w/o AutoML)
};

struct TrainConfig {
  // ---- data
  std::string data = "synthetic";  // synthetic | movielens | table
  std::string data_path;           // ml-1m folder, or the CSV/TSV file
  std::string schema_path;         // schema file of a table
  std::string split = "authors";   // movielens: authors | shuffled
  std::uint64_t data_seed = 2022;  // synthetic data and shuffled splits (fixed across --seeds)
  std::int64_t synthetic_rows = 60000;
  int synthetic_domains = 3;
  int synthetic_tasks = 2;
  // ---- model
  std::string model = "m3oe";  // m3oe, a baseline or an ablation (m3oe/baselines/registry.hpp)
  int shared_experts = 4;
  int embedding_dim = 16;
  int domain_dim = 512, hidden_dim = 256, expert_dim = 64;  // towers: expert_dim -> expert_dim -> 1
  std::string ablation = "none";  // none | no_domain | no_task | no_both
  // ---- optimisation
  // 0 = not set: the data source's default (resolve_defaults), the official script's
  // 50 epochs, batch 40,960, patience 10 on real data; 10 epochs, batch 1,024
  // and patience 3 on the synthetic data, so the first run takes seconds.
  int epochs = 0;
  std::int64_t batch = 0;
  std::int64_t eval_batch = 40960;
  double lr = 1e-2;
  double weight_decay = 1e-5;
  double structure_lr = 1e-3;
  std::string lr_schedule = "none";  // none | step:<epochs>:<gamma>
  int patience = 0;                  // early stopping on mean validation AUC (0 = default)
  AutoMLMode automl = AutoMLMode::official;
  double fixed_value = 0.5;
  int bilevel_every = 1;
  // ---- run
  std::vector<std::uint64_t> seeds = {2022};
  int threads = 0;  // 0 = OMP_NUM_THREADS or all cores
  std::string device = "cpu";
  std::string out = "runs/latest";
  bool resume = false;
  bool quiet = false;
};

// The most threads a run may ask for (a bound, so that a typo such as
// --threads 100000 is an error rather than a crash inside OpenMP).
inline constexpr int kMaxThreads = 1024;

// Parses `key = value` lines ('#' starts a comment); throws naming file:line
// for a line without '=', an empty key or a key set twice.
std::map<std::string, std::string> read_config_file(const std::string& path);
// Applies key/value pairs onto `cfg`; `source` names where they came from in
// errors. Every value is parsed whole and checked against its range
// (m3oe --help and docs/training.md list them); a bad one throws
// std::invalid_argument naming the setting, e.g. "command line: 'epochs'
// must be in [1, 1000000], got '0'".
void apply_settings(TrainConfig& cfg, const std::map<std::string, std::string>& kv,
                    const std::string& source);
// Settings that are legal but almost surely a mistake (lr 1e6, 500 threads
// on 2 cores), one sentence each; `m3oe train` prints them as warnings.
std::vector<std::string> setting_warnings(const TrainConfig& cfg);
// Fills the settings left at 0 with the data source's defaults.
void resolve_defaults(TrainConfig& cfg);
// The config as key = value text (round-trips through read_config_file).
std::string to_text(const TrainConfig& cfg);
const char* to_string(AutoMLMode m);
// The keys apply_settings understands, with one line of help each.
const std::vector<std::pair<std::string, std::string>>& config_keys();

}  // namespace m3oe::train
