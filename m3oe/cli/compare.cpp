// compare.cpp: `m3oe compare`, many models x many seeds on the same data,
// one table (m3oe/train/comparison.hpp).
#include "autograd/backend/cuda_loader.hpp"
#include "autograd/backend/threads.hpp"
#include "m3oe/baselines/registry.hpp"
#include "m3oe/cli/commands.hpp"
#include "m3oe/train/comparison.hpp"
#include "m3oe/train/run_dir.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace m3oe::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// "all" -> the paper's models; every name checked before anything runs.
std::vector<std::string> model_list(const std::string& text) {
  std::vector<std::string> models;
  for (const std::string& m : split_list(text)) {
    if (m == "all") {
      for (const std::string& p : baselines::paper_models()) models.push_back(p);
      continue;
    }
    if (!baselines::is_model_name(m))
      throw std::invalid_argument("--models: unknown model '" + m + "'; known models: all, " +
                                  baselines::model_names_text());
    models.push_back(m);
  }
  if (models.empty()) throw std::invalid_argument("--models is empty");
  return models;
}

std::string command_line(const std::vector<std::string>& args) {
  std::string s = "m3oe compare";
  for (const std::string& a : args) s += " " + a;
  return s;
}

}  // namespace

std::string compare_usage() {
  return "m3oe compare: train several models x seeds on the same data and tabulate them\n"
         "\n"
         "  m3oe compare --models LIST [--seeds LIST] [--out DIR] [DATA] [--KEY VALUE ...]\n"
         "  m3oe compare --merge [--models LIST] [--out DIR]\n"
         "  m3oe compare --list\n"
         "\n"
         "--models: comma-separated names, or `all` (the paper's Table 2 models and ablations).\n"
         "Each (model, seed) trains into DIR/<model>/seed-<seed> (default DIR runs/compare) with\n"
         "the same settings (DATA and KEYs as for m3oe train). A run whose results.json exists is\n"
         "skipped, an interrupted one continues from its checkpoint: run it again, or in parts\n"
         "(different --models or --seeds, same --out), and the table grows. After every run, and\n"
         "with --merge (no training), DIR/comparison.md and DIR/comparison.json are rewritten from\n"
         "every finished run under DIR (of the --models given, else of every model found).\n";
}

int compare(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  std::string models_text;
  bool merge = false, list = false, out_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--merge") merge = true;
    else if (args[i] == "--list") list = true;
    else if (args[i] == "--models") {
      if (i + 1 >= args.size()) throw std::invalid_argument("flag --models needs a value");
      models_text = args[++i];
    } else if (args[i] == "--model") {
      throw std::invalid_argument("compare takes --models LIST (comma-separated), not --model");
    } else {
      out_given = out_given || args[i] == "--out";
      rest.push_back(args[i]);
    }
  }
  if (list) {
    for (const baselines::ModelInfo& m : baselines::model_catalog())
      std::printf("  %-20s %s\n", m.name.c_str(), m.description.c_str());
    return 0;
  }
  train::TrainConfig cfg = parse_train_args(rest, "compare");
  if (!out_given) cfg.out = "runs/compare";
  train::make_paths_absolute(cfg);  // each run's config.txt names the data from any directory
  const std::vector<std::string> models = models_text.empty() ? std::vector<std::string>{} : model_list(models_text);
  const std::string command = command_line(args);

  if (merge) {
    const train::Comparison c = train::collect_comparison(cfg.out, models);
    train::write_comparison(cfg.out, c, command);
    std::printf("%s\nwrote %s/comparison.md and comparison.json\n",
                train::format_comparison(c, command).c_str(), cfg.out.c_str());
    return 0;
  }
  if (models.empty()) throw std::invalid_argument("compare needs --models LIST (or --merge, or --list)");

  for (const std::string& w : train::setting_warnings(cfg)) std::fprintf(stderr, "m3oe: warning: %s\n", w.c_str());
  if (cfg.threads > 0) set_num_threads(cfg.threads);
  std::string device_message;
  backend::Backend& device = backend::select_device(cfg.device, &device_message);
  backend::ScopedBackend use_device(device);
  const data::Splits splits = train::load_data(cfg);
  for (const std::string& w : splits.warnings) std::fprintf(stderr, "m3oe: warning: %s\n", w.c_str());
  if (!cfg.quiet)
    std::printf("device: %s\ndata: %s | %d domains x %d tasks | %zu models x %zu seeds -> %s\n",
                device_message.c_str(), splits.description.c_str(), splits.train.schema.num_domains(),
                splits.train.schema.num_tasks(), models.size(), cfg.seeds.size(), cfg.out.c_str());
  // One writer at a time; runs continue in place (done ones are skipped).
  const train::RunDirectory lock(cfg.out, /*resume=*/true);
  int trained = 0, skipped = 0;
  for (const std::string& model : models) {
    for (const std::uint64_t seed : cfg.seeds) {
      const std::string dir = train::comparison_run_dir(cfg.out, model, seed);
      if (util::file_exists(dir + "/results.json")) {
        if (!cfg.quiet) std::printf("== %s seed %llu: done already, skipped\n", model.c_str(),
                                    static_cast<unsigned long long>(seed));
        ++skipped;
        continue;
      }
      train::TrainConfig one = cfg;
      one.model = model;
      one.seeds = {seed};
      one.out = dir;
      one.resume = true;  // an interrupted run continues from its checkpoint
      train::check_run(one, splits, seed, dir);  // before config.txt is written over
      util::make_dirs(dir);
      util::write_file_atomic(dir + "/config.txt", train::to_text(one));
      if (!cfg.quiet) std::printf("== %s seed %llu -> %s\n", model.c_str(), static_cast<unsigned long long>(seed), dir.c_str());
      const train::RunResult r = train::train_run(one, splits, seed, dir);
      ++trained;
      if (!cfg.quiet && r.test.mean_auc)
        std::printf("   test mean AUC %.4f after %zu epochs (%.0f s)\n", *r.test.mean_auc, r.history.size(),
                    r.train_seconds);
      // The table so far, so that an interrupted comparison still has one.
      train::write_comparison(cfg.out, train::collect_comparison(cfg.out, models), command);
    }
  }
  const train::Comparison c = train::collect_comparison(cfg.out, models);
  train::write_comparison(cfg.out, c, command);
  std::printf("%s\n%d runs trained, %d skipped (done before); wrote %s/comparison.md and comparison.json\n",
              train::format_comparison(c, command).c_str(), trained, skipped, cfg.out.c_str());
  return 0;
}

}  // namespace m3oe::cli
