#include "m3oe/cli/commands.hpp"

#include "autograd/backend/cuda_loader.hpp"
#include "autograd/backend/threads.hpp"
#include "m3oe/data/table.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/results.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"
#include "m3oe/rng.hpp"

#include <cstdio>
#include <map>
#include <stdexcept>

namespace m3oe::cli {

std::string usage() {
  std::string s =
      "m3oe: the M3oE multi-domain multi-task recommender (SIGIR 2024) in C++\n"
      "\n"
      "usage:\n"
      "  m3oe train   [--config FILE] [DATA] [--KEY VALUE ...]\n"
      "  m3oe eval    --run DIR [--split valid|test|train]\n"
      "  m3oe predict --run DIR (--split valid|test|train | --input FILE) --output FILE\n"
      "  m3oe compare --models LIST [--seeds LIST] [--out DIR] [DATA] [--KEY VALUE ...]\n"
      "               (and --merge, --list; m3oe compare --help)\n"
      "\n"
      "DATA (default --synthetic):\n"
      "  --synthetic             the embedded synthetic multi-domain multi-task data\n"
      "  --movielens DIR         MovieLens-1M (ratings.dat, users.dat, movies.dat)\n"
      "  --table FILE --schema F your own CSV/TSV and its schema (docs/data.md)\n"
      "\n"
      "train writes its run directory (--out, default runs/latest): config.txt,\n"
      "metrics.csv, fusion_weights.csv, checkpoint.bin, results.json; with several\n"
      "--seeds, one folder per seed and summary.md / summary.json. --resume continues\n"
      "an interrupted run from its checkpoint. --threads N (default OMP_NUM_THREADS or\n"
      "all cores). Flags and config-file keys are the same (--data-path = data_path):\n"
      "\n";
  for (const auto& [key, help] : train::config_keys()) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-18s %s\n", key.c_str(), help.c_str());
    s += line;
  }
  return s;
}

namespace {

std::string flag_key(const std::string& flag) {
  std::string k = flag.substr(2);
  for (char& c : k)
    if (c == '-') c = '_';
  return k;
}

// --key value pairs (and bare --flags listed in `bare`) into a map. A flag
// given twice is an error (which one would win is not obvious).
std::map<std::string, std::string> parse_flags(const std::vector<std::string>& args,
                                               std::initializer_list<const char*> bare) {
  std::map<std::string, std::string> kv;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) throw std::invalid_argument("unexpected argument '" + a + "'");
    const std::string key = flag_key(a);
    bool is_bare = false;
    for (const char* b : bare) is_bare = is_bare || key == b;
    if (kv.count(key)) throw std::invalid_argument("flag " + a + " is given twice");
    if (is_bare) { kv[key] = "true"; continue; }
    if (i + 1 >= args.size()) throw std::invalid_argument("flag " + a + " needs a value");
    kv[key] = args[++i];
  }
  return kv;
}

// The flags of eval and predict: `own` are the command's own, `settings` the
// training settings it may override (checked by train::apply_settings);
// anything else (a typo such as --splt) is an error naming the flag.
void check_flags(const std::map<std::string, std::string>& kv, const char* command,
                 std::initializer_list<const char*> own, std::initializer_list<const char*> settings) {
  for (const auto& [key, value] : kv) {
    bool known = false;
    for (const char* k : own) known = known || key == k;
    for (const char* k : settings) known = known || key == k;
    if (known) continue;
    std::string list;
    for (const char* k : own) list += std::string(list.empty() ? "--" : ", --") + k;
    for (const char* k : settings) list += std::string(", --") + k;
    for (char& c : list)
      if (c == '_') c = '-';
    std::string flag = "--" + key;
    for (char& c : flag)
      if (c == '_') c = '-';
    throw std::invalid_argument(std::string(command) + ": unknown flag " + flag + " (" + command +
                                " takes " + list + ")");
  }
}

// The training settings among `kv` applied over the run's configuration.
void apply_overrides(train::TrainConfig& cfg, const std::map<std::string, std::string>& kv,
                     std::initializer_list<const char*> settings) {
  std::map<std::string, std::string> over;
  for (const char* k : settings)
    if (const auto it = kv.find(k); it != kv.end()) over.insert(*it);
  train::apply_settings(cfg, over, "command line");
}

void check_split_name(const std::string& name) {
  if (name != "test" && name != "valid" && name != "train")
    throw std::invalid_argument("--split must be train, valid or test, got '" + name + "'");
}

void print_warnings(const train::TrainConfig& cfg) {
  for (const std::string& w : train::setting_warnings(cfg)) std::fprintf(stderr, "m3oe: warning: %s\n", w.c_str());
}

void apply_threads(const train::TrainConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(cfg.threads);
}

std::string run_dir_for(const train::TrainConfig& cfg, std::size_t i) {
  if (cfg.seeds.size() == 1) return cfg.out;
  return cfg.out + "/seed-" + std::to_string(cfg.seeds[i]);
}

// The configuration a run directory was trained with.
train::TrainConfig run_config(const std::string& run_dir) {
  train::TrainConfig cfg;
  train::apply_settings(cfg, train::read_config_file(run_dir + "/config.txt"), run_dir + "/config.txt");
  train::resolve_defaults(cfg);
  return cfg;
}

// The run's model with its best weights, in eval mode.
std::unique_ptr<RecModel> load_best_model(const std::string& run_dir, const train::TrainConfig& cfg,
                                          const data::Schema& schema) {
  Rng rng(cfg.seeds.front());
  auto model = train::make_model(cfg, schema, rng);
  const train::Checkpoint ck = train::load_checkpoint(run_dir + "/checkpoint.bin");
  model->load_state_dict(train::select_prefixed(ck.tensors, "best."));
  model->eval();
  return model;
}

const data::Dataset& pick_split(const data::Splits& s, const std::string& name) {
  if (name == "test") return s.test;
  if (name == "valid") return s.valid;
  if (name == "train") return s.train;
  throw std::invalid_argument("--split must be train, valid or test, got '" + name + "'");
}

}  // namespace

train::TrainConfig parse_train_args(const std::vector<std::string>& args) {
  auto kv = parse_flags(args, {"synthetic", "resume", "quiet"});
  train::TrainConfig cfg;
  if (auto it = kv.find("config"); it != kv.end()) {
    train::apply_settings(cfg, train::read_config_file(it->second), it->second);
    kv.erase(it);
  }
  // Shortcuts for the data source.
  if (kv.erase("synthetic")) kv["data"] = "synthetic";
  if (auto it = kv.find("movielens"); it != kv.end()) {
    kv["data"] = "movielens";
    kv["data_path"] = it->second;
    kv.erase(it);
  }
  if (auto it = kv.find("table"); it != kv.end()) {
    kv["data"] = "table";
    kv["data_path"] = it->second;
    kv.erase(it);
  }
  const bool resume = kv.erase("resume") > 0;
  train::apply_settings(cfg, kv, "command line");
  train::resolve_defaults(cfg);
  cfg.resume = resume;
  return cfg;
}

int train(const std::vector<std::string>& args) {
  const train::TrainConfig cfg = parse_train_args(args);
  print_warnings(cfg);
  apply_threads(cfg);
  // --device cuda: the CUDA plugin's backend when it loads and finds a GPU,
  // else the CPU backend; either way one line says which and why.
  std::string device_message;
  backend::Backend& device = backend::select_device(cfg.device, &device_message);
  backend::ScopedBackend use_device(device);
  if (!cfg.quiet) std::printf("device: %s\n", device_message.c_str());
  const data::Splits splits = train::load_data(cfg);
  for (const std::string& w : splits.warnings) std::fprintf(stderr, "m3oe: warning: %s\n", w.c_str());
  if (!cfg.quiet)
    std::printf("data: %s | train %lld, valid %lld, test %lld rows | %d domains x %d tasks | %d threads\n",
                splits.description.c_str(), static_cast<long long>(splits.train.rows),
                static_cast<long long>(splits.valid.rows), static_cast<long long>(splits.test.rows),
                splits.train.schema.num_domains(), splits.train.schema.num_tasks(), num_threads());
  util::make_dirs(cfg.out);
  util::write_file_atomic(cfg.out + "/config.txt", train::to_text(cfg));
  std::vector<train::RunResult> runs;
  for (std::size_t i = 0; i < cfg.seeds.size(); ++i) {
    const std::string dir = run_dir_for(cfg, i);
    util::make_dirs(dir);
    train::TrainConfig one = cfg;
    one.seeds = {cfg.seeds[i]};
    one.out = dir;
    util::write_file_atomic(dir + "/config.txt", train::to_text(one));
    if (!cfg.quiet) std::printf("== seed %llu -> %s\n", static_cast<unsigned long long>(cfg.seeds[i]), dir.c_str());
    runs.push_back(train::train_run(one, splits, cfg.seeds[i], dir));
    const train::RunResult& r = runs.back();
    std::printf("\nTest metrics, seed %llu, best epoch %d of %zu (%s):\n%s\n",
                static_cast<unsigned long long>(r.seed), r.best_epoch + 1, r.history.size(),
                r.split.c_str(), metrics::format_evaluation(r.test).c_str());
  }
  if (runs.size() > 1) {
    train::write_seed_summary(cfg.out, cfg, runs, splits.train.schema);
    std::printf("%s\n", train::format_seed_summary(runs, splits.train.schema).c_str());
  }
  return 0;
}

int eval(const std::vector<std::string>& args) {
  auto kv = parse_flags(args, {});
  check_flags(kv, "eval", {"run", "split"}, {"data_path", "threads", "eval_batch"});
  if (!kv.count("run")) throw std::invalid_argument("eval needs --run DIR");
  const std::string split = kv.count("split") ? kv["split"] : "test";
  check_split_name(split);
  const std::string dir = kv["run"];
  train::TrainConfig cfg = run_config(dir);
  apply_overrides(cfg, kv, {"data_path", "threads", "eval_batch"});
  apply_threads(cfg);
  const data::Splits splits = train::load_data(cfg);
  const auto model = load_best_model(dir, cfg, splits.train.schema);
  const metrics::Evaluation e = train::evaluate(*model, pick_split(splits, split), cfg.eval_batch);
  std::printf("%s metrics of %s (%s):\n%s", split.c_str(), dir.c_str(), splits.description.c_str(),
              metrics::format_evaluation(e).c_str());
  return 0;
}

int predict(const std::vector<std::string>& args) {
  auto kv = parse_flags(args, {});
  check_flags(kv, "predict", {"run", "split", "input", "output"}, {"data_path", "threads", "eval_batch"});
  if (!kv.count("run") || !kv.count("output"))
    throw std::invalid_argument("predict needs --run DIR and --output FILE");
  if (kv.count("split") && kv.count("input"))
    throw std::invalid_argument("predict takes --split or --input, not both");
  if (kv.count("split")) check_split_name(kv["split"]);
  const std::string dir = kv["run"];
  train::TrainConfig cfg = run_config(dir);
  apply_overrides(cfg, kv, {"data_path", "threads", "eval_batch"});
  apply_threads(cfg);
  data::TableEncoding encoding;
  data::Splits splits;
  if (cfg.data == "table") {
    data::TableOptions o;
    o.seed = cfg.data_seed;
    splits = data::load_table(cfg.data_path, cfg.schema_path, o, &encoding);
  } else {
    splits = train::load_data(cfg);
  }
  const auto model = load_best_model(dir, cfg, splits.train.schema);
  data::Dataset input;
  if (kv.count("input")) {
    if (cfg.data != "table")
      throw std::invalid_argument("--input works for runs on a table (data = table); use --split for " + cfg.data);
    input = data::encode_table(kv["input"], data::read_table_schema(cfg.schema_path), encoding,
                               /*require_labels=*/false);
  } else {
    input = pick_split(splits, kv.count("split") ? kv["split"] : "test");
  }
  const std::vector<float> probs = train::predict(*model, input, cfg.eval_batch);
  const int T = input.schema.num_tasks();
  std::string out;
  for (int t = 0; t < T; ++t) out += (t ? "," : "") + input.schema.tasks[static_cast<std::size_t>(t)];
  out += "\n";
  char buf[32];
  for (std::int64_t i = 0; i < input.rows; ++i) {
    for (int t = 0; t < T; ++t) {
      std::snprintf(buf, sizeof buf, "%s%.6f", t ? "," : "", double(probs[static_cast<std::size_t>(i * T + t)]));
      out += buf;
    }
    out += "\n";
  }
  util::write_file_atomic(kv["output"], out);
  std::printf("wrote %lld rows of probabilities (%s) to %s\n", static_cast<long long>(input.rows),
              out.substr(0, out.find('\n')).c_str(), kv["output"].c_str());
  return 0;
}

}  // namespace m3oe::cli
