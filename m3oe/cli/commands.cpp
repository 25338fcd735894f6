#include "m3oe/cli/commands.hpp"

#include "autograd/backend/cuda_loader.hpp"
#include "autograd/backend/threads.hpp"
#include "autograd/rng.hpp"
#include "m3oe/data/table.hpp"
#include "m3oe/gates.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/results.hpp"
#include "m3oe/train/run_dir.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
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
      "  m3oe eval    --run DIR [--split valid|test|train] [--gates FILE.csv]\n"
      "  m3oe predict --run DIR (--split valid|test|train | --input FILE) --output FILE\n"
      "  m3oe compare --models LIST [--seeds LIST] [--out DIR] [DATA] [--KEY VALUE ...]\n"
      "               (and --merge, --list; m3oe compare --help)\n"
      "  m3oe report  --run DIR [--out DIR] [--split S]  (figures, index.html; m3oe report --help)\n"
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

// One flag of a subcommand: `key` is the setting's name (data_path), the
// flag is --data-path (--data_path works too); a bare flag takes no value.
struct Flag {
  std::string key, help;
  bool bare = false;
};

std::string dashed(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return key;
}

// The command line of `command` on CLI11, every flag a string: the values
// are checked by train::apply_settings, which config files go through too.
// Unknown flags, a flag given twice, a missing value and stray words are
// CLI11's errors. Paths are checked where they are read (a directory given
// as a file is refused by name there, for config files too).
struct CommandLine {
  CLI::App app;
  std::vector<Flag> flags;
  std::vector<std::string> values;
  std::vector<CLI::Option*> options;

  CommandLine(const std::string& command, std::vector<Flag> f)
      : app("m3oe " + command + ": see m3oe --help and docs/training.md", "m3oe " + command),
        flags(std::move(f)),
        values(flags.size()) {
    app.set_help_flag();  // m3oe CMD --help is answered by main()
    for (std::size_t i = 0; i < flags.size(); ++i) {
      const Flag& fl = flags[i];
      std::string names = "--" + dashed(fl.key);
      if (fl.key.find('_') != std::string::npos) names += ",--" + fl.key;
      options.push_back(fl.bare ? app.add_flag(names, fl.help) : app.add_option(names, values[i], fl.help));
    }
  }

  // The flags given, as key -> value ("true" for a bare flag).
  std::map<std::string, std::string> parse(const std::vector<std::string>& args) {
    // "--" would end the flags, and everything after it is unexpected anyway.
    for (const std::string& a : args)
      if (a == "--") throw std::invalid_argument("unexpected argument '--'");
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
    try {
      app.parse(reversed);
    } catch (const CLI::ExtrasError&) {
      // The first argument CLI11 did not take, named with what is taken.
      const std::vector<std::string> extra = app.remaining();
      for (const std::string& a : args) {
        if (std::find(extra.begin(), extra.end(), a) == extra.end()) continue;
        if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "'");
        std::string known;
        for (const Flag& f : flags) known += (known.empty() ? "--" : ", --") + dashed(f.key);
        if (flags.size() > 8) known = "the flags `" + app.get_name() + " --help` lists";
        throw std::invalid_argument("unknown flag " + a + " (" + app.get_name() + " takes " + known + ")");
      }
      throw;
    } catch (const CLI::ParseError& e) {
      throw std::invalid_argument(e.what());
    }
    std::map<std::string, std::string> kv;
    for (std::size_t i = 0; i < flags.size(); ++i)
      if (options[i]->count() > 0) kv[flags[i].key] = flags[i].bare ? "true" : values[i];
    return kv;
  }
};

std::vector<Flag> train_flags() {
  std::vector<Flag> f = {
      {"config", "FILE: settings as `key = value` lines, the flags over them"},
      {"synthetic", "the embedded synthetic data (the default)", true},
      {"movielens", "DIR: MovieLens-1M (ratings.dat, users.dat, movies.dat)"},
      {"table", "FILE: your own CSV/TSV, with --schema (docs/data.md)"},
      {"resume", "continue an interrupted run from its checkpoint", true},
  };
  for (const auto& [key, help] : train::config_keys()) f.push_back({key, help, key == "quiet"});
  return f;
}

const std::vector<Flag>& run_setting_flags() {
  static const std::vector<Flag> f = {
      {"data_path", "the data, if it moved since training"},
      {"threads", "threads, 0 .. 1024 (0 = OMP_NUM_THREADS or all cores)"},
      {"eval_batch", "evaluation batch rows"},
  };
  return f;
}

// The flags eval and predict share: which run, which split, run settings.
std::vector<Flag> scoring_flags() {
  std::vector<Flag> f = {{"run", "DIR: the run directory"}, {"split", "train | valid | test (default test)"}};
  f.insert(f.end(), run_setting_flags().begin(), run_setting_flags().end());
  return f;
}

std::vector<Flag> eval_flags() {
  std::vector<Flag> f = scoring_flags();
  f.push_back({"gates", "FILE.csv: also write each cell's mean gate weights (docs/report.md)"});
  return f;
}

std::vector<Flag> predict_flags() {
  std::vector<Flag> f = scoring_flags();
  f.push_back({"input", "FILE: rows to score (runs on a table), instead of --split"});
  f.push_back({"output", "FILE: where the probabilities go"});
  return f;
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

// Seed i's folder under `root` (the run directory, or its staging folder).
std::string run_dir_for(const std::string& root, const train::TrainConfig& cfg, std::size_t i) {
  if (cfg.seeds.size() == 1) return root;
  return root + "/seed-" + std::to_string(cfg.seeds[i]);
}

// The configuration a run directory was trained with.
train::TrainConfig run_config(const std::string& run_dir) {
  train::TrainConfig cfg;
  train::apply_settings(cfg, train::read_config_file(run_dir + "/config.txt"), run_dir + "/config.txt");
  train::resolve_defaults(cfg);
  return cfg;
}

// The run's model with its best weights, in eval mode; refused when the
// checkpoint was trained with other settings or data than config.txt gives.
std::unique_ptr<RecModel> load_best_model(const std::string& run_dir, const train::TrainConfig& cfg,
                                          const data::Splits& splits) {
  Rng rng(cfg.seeds.front());
  auto model = train::make_model(cfg, splits.train.schema, rng);
  const train::Checkpoint ck = train::load_checkpoint(run_dir + "/checkpoint.bin");
  train::check_identity(ck, run_dir + "/checkpoint.bin", train::run_identity(cfg, cfg.seeds.front()),
                        train::data_fingerprint(splits), run_dir + "/config.txt");
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

std::string command_help(const std::string& command) {
  std::vector<Flag> flags = command == "eval" ? eval_flags() : command == "predict" ? predict_flags() : train_flags();
  return CommandLine(command, std::move(flags)).app.help();
}

train::TrainConfig parse_train_args(const std::vector<std::string>& args, const std::string& command) {
  auto kv = CommandLine(command, train_flags()).parse(args);
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
  train::TrainConfig cfg = parse_train_args(args);
  train::make_paths_absolute(cfg);  // config.txt names the data from any directory
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
  // Everything is checked before the run directory is touched; then it is
  // locked, and a fresh run over an old one is staged until it is complete.
  std::vector<std::string> dirs;
  for (std::size_t i = 0; i < cfg.seeds.size(); ++i) dirs.push_back(run_dir_for(cfg.out, cfg, i));
  train::check_train_command(cfg, splits, dirs);
  train::RunDirectory out(cfg.out, cfg.resume);
  util::write_file_atomic(out.write_root() + "/config.txt", train::to_text(cfg));
  std::vector<train::RunResult> runs;
  for (std::size_t i = 0; i < cfg.seeds.size(); ++i) {
    const std::string dir = run_dir_for(out.write_root(), cfg, i);
    util::make_dirs(dir);
    train::TrainConfig one = cfg;
    one.seeds = {cfg.seeds[i]};
    one.out = dirs[i];
    util::write_file_atomic(dir + "/config.txt", train::to_text(one));
    if (!cfg.quiet) std::printf("== seed %llu -> %s\n", static_cast<unsigned long long>(cfg.seeds[i]), dirs[i].c_str());
    runs.push_back(train::train_run(one, splits, cfg.seeds[i], dir));
    const train::RunResult& r = runs.back();
    std::printf("\nTest metrics, seed %llu, best epoch %d of %zu by %s (%s):\n%s\n",
                static_cast<unsigned long long>(r.seed), r.best_epoch + 1, r.history.size(),
                r.selection.c_str(), r.split.c_str(), metrics::format_evaluation(r.test).c_str());
  }
  if (runs.size() > 1) {
    train::write_seed_summary(out.write_root(), cfg, runs, splits.train.schema);
    std::printf("%s\n", train::format_seed_summary(runs, splits.train.schema).c_str());
  }
  out.commit();
  return 0;
}

int eval(const std::vector<std::string>& args) {
  auto kv = CommandLine("eval", eval_flags()).parse(args);
  if (!kv.count("run")) throw std::invalid_argument("eval needs --run DIR");
  const std::string split = kv.count("split") ? kv["split"] : "test";
  check_split_name(split);
  const std::string dir = kv["run"];
  train::TrainConfig cfg = run_config(dir);
  apply_overrides(cfg, kv, {"data_path", "threads", "eval_batch"});
  apply_threads(cfg);
  const data::Splits splits = train::load_data(cfg);
  const auto model = load_best_model(dir, cfg, splits);
  const metrics::Evaluation e = train::evaluate(*model, pick_split(splits, split), cfg.eval_batch);
  std::printf("%s metrics of %s (%s):\n%s", split.c_str(), dir.c_str(), splits.description.c_str(),
              metrics::format_evaluation(e).c_str());
  if (kv.count("gates"))  // per-cell gate weights (m3oe/gates.hpp has the CSV layout)
    util::write_file_atomic(kv["gates"], gate_stats_csv(gate_stats(*model, pick_split(splits, split), cfg.eval_batch), splits.train.schema));
  return 0;
}

int predict(const std::vector<std::string>& args) {
  auto kv = CommandLine("predict", predict_flags()).parse(args);
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
  const auto model = load_best_model(dir, cfg, splits);
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
