#include "m3oe/train/comparison.hpp"

#include "m3oe/baselines/registry.hpp"
#include "m3oe/util/files.hpp"
#include "m3oe/util/json.hpp"
#include "m3oe/util/json_read.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

namespace m3oe::train {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- reading runs

RunSummary read_run_summary(const std::string& path) {
  const std::string text = util::read_file(path);
  try {
    const util::JsonValue j = util::parse_json(text, path);
    RunSummary r;
    r.model = j.at("model").as_string();
    r.seed = static_cast<std::uint64_t>(j.at("seed").as_number());
    r.data = j.at("data").as_string();
    r.split = j.at("split").as_string();
    r.parameters = static_cast<long long>(j.at("parameters").as_number());
    r.epochs_run = static_cast<int>(j.at("epochs_run").as_number());
    r.best_epoch = static_cast<int>(j.at("best_epoch").as_number());
    r.train_seconds = j.at("train_seconds").as_number();
    const util::JsonValue& test = j.at("test");
    r.mean_auc = test.at("mean_auc").as_optional_number();
    r.mean_logloss = test.at("mean_logloss").as_optional_number();
    for (const util::JsonValue& cell : test.at("cells").as_array()) {
      r.domains.push_back(cell.at("domain").as_string());
      r.tasks.push_back(cell.at("task").as_string());
      r.cell_auc.push_back(cell.at("auc").as_optional_number());
      r.cell_logloss.push_back(cell.at("logloss").as_optional_number());
    }
    return r;
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    throw std::runtime_error(msg.rfind(path, 0) == 0 ? msg : path + ": " + msg);
  }
}

std::string comparison_run_dir(const std::string& out, const std::string& model, std::uint64_t seed) {
  return out + "/" + model + "/seed-" + std::to_string(seed);
}

// ---------------------------------------------------------------- the paper

const PaperNumbers* paper_ml1m(const std::string& model) {
  // Zhang et al., SIGIR 2024, Table 2 (MovieLens-1M, mean of 5 seeds) and
  // the ablation study's mean AUC; /shared/docs/m3oe-reference.md.
  static const std::map<std::string, PaperNumbers> table = {
      {"mlp", {{75.02, 76.40, 76.27, 78.66, 73.21, 74.15}, 75.62, 51.51}},
      {"shared-bottom-mdmt", {{75.94, 77.25, 76.56, 78.63, 73.97, 75.21}, 76.26, 50.96}},
      {"mmoe-mdmt", {{76.07, 77.27, 76.86, 78.67, 73.83, 75.41}, 76.35, 51.02}},
      {"ple-mdmt", {{75.83, 76.95, 76.04, 78.48, 73.67, 75.09}, 75.68, 51.90}},
      {"star", {{75.89, 76.85, 76.87, 78.47, 73.68, 74.70}, 76.08, 51.11}},
      {"m2m", {{74.12, 75.35, 75.08, 77.13, 72.11, 73.78}, 74.59, 54.14}},
      {"m3oe", {{76.61, 78.13, 77.51, 79.33, 74.47, 76.09}, 77.02, 50.71}},
      {"m3oe-no-automl", {{}, 76.37, std::nullopt}},
      {"m3oe-concat", {{}, 76.89, std::nullopt}},
      {"m3oe-gated", {{}, 76.92, std::nullopt}},
      {"m3oe-no-domain", {{}, 76.89, std::nullopt}},
      {"m3oe-no-task", {{}, 76.85, std::nullopt}},
      {"m3oe-no-both", {{}, 76.80, std::nullopt}},
  };
  const auto it = table.find(model);
  return it == table.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------- collecting

namespace {

// Models ordered as the paper's table, unknown folder names after them.
std::vector<std::string> model_folders(const std::string& out) {
  std::set<std::string> found;
  if (fs::is_directory(out))
    for (const auto& e : fs::directory_iterator(out))
      if (e.is_directory()) found.insert(e.path().filename().string());
  std::vector<std::string> order;
  for (const std::string& m : baselines::paper_models())
    if (found.erase(m)) order.push_back(m);
  for (const baselines::ModelInfo& m : baselines::model_catalog())
    if (found.erase(m.name)) order.push_back(m.name);
  return order;  // folders that are no model name are not comparison runs
}

}  // namespace

Comparison collect_comparison(const std::string& out, const std::vector<std::string>& models) {
  Comparison c;
  c.models = models.empty() ? model_folders(out) : models;
  std::set<std::string> splits;
  for (const std::string& model : c.models) {
    std::vector<RunSummary>& runs = c.runs[model];
    const fs::path dir = fs::path(out) / model;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      const fs::path results = e.path() / "results.json";
      if (!e.is_directory() || e.path().filename().string().rfind("seed-", 0) != 0 ||
          !fs::exists(results))
        continue;
      RunSummary r = read_run_summary(results.string());
      if (r.model != model)
        throw std::runtime_error(results.string() + ": a run of model '" + r.model + "' in the folder of '" +
                                 model + "'");
      splits.insert(r.data + ", " + r.split);
      runs.push_back(std::move(r));
    }
    std::sort(runs.begin(), runs.end(), [](const RunSummary& a, const RunSummary& b) { return a.seed < b.seed; });
  }
  if (splits.size() > 1) {
    std::string list;
    for (const std::string& s : splits) list += (list.empty() ? "" : "; ") + s;
    c.warnings.push_back("the runs used different data or splits: " + list);
  }
  // The cells must agree too, or the columns would mix different things.
  const RunSummary* first = nullptr;
  for (const auto& [model, runs] : c.runs)
    for (const RunSummary& r : runs) {
      if (!first) first = &r;
      else if (r.domains != first->domains || r.tasks != first->tasks)
        throw std::runtime_error("the runs of '" + first->model + "' and '" + model +
                                 "' have different domain/task cells; compare runs on the same data");
    }
  return c;
}

// ---------------------------------------------------------------- formatting

namespace {

struct MeanStd {
  double mean = NAN, std = NAN;
  int n = 0;
};
MeanStd mean_std(const std::vector<std::optional<double>>& xs) {
  MeanStd m;
  double s = 0;
  for (const auto& x : xs)
    if (x) s += *x, ++m.n;
  if (m.n == 0) return m;
  m.mean = s / m.n;
  double v = 0;
  for (const auto& x : xs)
    if (x) v += (*x - m.mean) * (*x - m.mean);
  m.std = m.n > 1 ? std::sqrt(v / (m.n - 1)) : 0;
  return m;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "76.61 ± 0.12" (x100); just the mean with one seed; "n/a" with none.
std::string pm(const MeanStd& m) {
  if (m.n == 0) return "n/a";
  std::string s = fmt("%.2f", 100 * m.mean);
  if (m.n > 1) s += " ± " + fmt("%.2f", 100 * m.std);
  return s;
}

// The columns of one model, each a list over its runs.
struct Columns {
  std::vector<MeanStd> cells;
  MeanStd auc, logloss, seconds, seconds_per_epoch;
  long long parameters = 0;
  int seeds = 0;
};
Columns columns(const std::vector<RunSummary>& runs, std::size_t cells) {
  Columns c;
  c.seeds = static_cast<int>(runs.size());
  for (std::size_t i = 0; i < cells; ++i) {
    std::vector<std::optional<double>> xs;
    for (const RunSummary& r : runs) xs.push_back(i < r.cell_auc.size() ? r.cell_auc[i] : std::nullopt);
    c.cells.push_back(mean_std(xs));
  }
  std::vector<std::optional<double>> auc, ll, secs, per_epoch;
  for (const RunSummary& r : runs) {
    auc.push_back(r.mean_auc);
    ll.push_back(r.mean_logloss);
    secs.push_back(r.train_seconds);
    per_epoch.push_back(r.epochs_run > 0 ? std::optional<double>(r.train_seconds / r.epochs_run) : std::nullopt);
    c.parameters = r.parameters;
  }
  c.auc = mean_std(auc);
  c.logloss = mean_std(ll);
  c.seconds = mean_std(secs);
  c.seconds_per_epoch = mean_std(per_epoch);
  return c;
}

const RunSummary* any_run(const Comparison& c) {
  for (const std::string& m : c.models) {
    const auto it = c.runs.find(m);
    if (it != c.runs.end() && !it->second.empty()) return &it->second.front();
  }
  return nullptr;
}

// The distinct names in order of first appearance.
std::vector<std::string> distinct(const std::vector<std::string>& xs) {
  std::vector<std::string> out;
  for (const std::string& x : xs)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  return out;
}

}  // namespace

std::string format_comparison(const Comparison& c, const std::string& command) {
  const RunSummary* ref = any_run(c);
  const std::size_t cells = ref ? ref->cell_auc.size() : 0;
  const std::vector<std::string> domains = ref ? distinct(ref->domains) : std::vector<std::string>{};
  const std::vector<std::string> tasks = ref ? distinct(ref->tasks) : std::vector<std::string>{};
  const bool movielens = ref && ref->data == "movielens";
  std::ostringstream o;
  o << "# Model comparison\n\n";
  if (ref) o << "Data: " << ref->data << ", " << ref->split << ". ";
  o << "Test AUC per (domain, task) cell, mean AUC over the cells and mean log loss over the cells, "
       "all x100, as mean ± sample standard deviation over the seeds (no ± with one seed). "
       "Time: training only (no evaluation), seconds per epoch and per run.\n\n";
  if (!command.empty()) o << "Made by:\n\n```\n" << command << "\n```\n\n";
  for (const std::string& w : c.warnings) o << "**Warning:** " << w << "\n\n";

  o << "| model |";
  for (std::size_t d = 0; d < domains.size(); ++d)
    for (std::size_t t = 0; t < tasks.size(); ++t) o << " d" << d + 1 << "t" << t + 1 << " |";
  o << " mean AUC | logloss | seeds | parameters | s/epoch | s/run |";
  if (movielens) o << " paper mean AUC |";
  o << "\n|---|";
  for (std::size_t i = 0; i < cells + 6 + (movielens ? 1 : 0); ++i) o << "---|";
  o << "\n";
  for (const std::string& model : c.models) {
    const auto it = c.runs.find(model);
    const std::vector<RunSummary> none;
    const Columns col = columns(it == c.runs.end() ? none : it->second, cells);
    o << "| " << model << " |";
    for (const MeanStd& m : col.cells) o << " " << pm(m) << " |";
    o << " " << pm(col.auc) << " | " << pm(col.logloss) << " | " << col.seeds << " | "
      << (col.seeds ? std::to_string(col.parameters) : "") << " | "
      << (col.seconds_per_epoch.n ? fmt("%.1f", col.seconds_per_epoch.mean) : "") << " | "
      << (col.seconds.n ? fmt("%.0f", col.seconds.mean) : "") << " |";
    if (movielens) {
      const PaperNumbers* p = paper_ml1m(model);
      o << " " << (p ? fmt("%.2f", p->mean_auc) : "") << " |";
    }
    o << "\n";
  }
  if (ref) {
    o << "\nCells: ";
    for (std::size_t d = 0; d < domains.size(); ++d) o << (d ? ", " : "") << "d" << d + 1 << " = " << domains[d];
    for (std::size_t t = 0; t < tasks.size(); ++t) o << ", t" << t + 1 << " = " << tasks[t];
    o << ". Models: docs/baselines.md.\n";
  }
  if (movielens) {
    o << "\nThe paper's numbers (Zhang et al., SIGIR 2024, Table 2 and the ablation study; MovieLens-1M, "
         "mean of 5 seeds, x100). The paper's split cannot be reproduced exactly, so compare how the "
         "models rank rather than the absolute values. Its logloss column is the authors' code's log "
         "loss over the [n,2] label matrix, not the mean per-cell BCE above.\n\n";
    o << "| model | d1t1 | d1t2 | d2t1 | d2t2 | d3t1 | d3t2 | mean AUC | logloss |\n";
    o << "|---|---|---|---|---|---|---|---|---|\n";
    for (const std::string& model : c.models) {
      const PaperNumbers* p = paper_ml1m(model);
      if (!p) continue;
      o << "| " << model << " |";
      for (std::size_t i = 0; i < 6; ++i) o << " " << (p->cells.empty() ? "" : fmt("%.2f", p->cells[i])) << " |";
      o << " " << fmt("%.2f", p->mean_auc) << " | " << (p->logloss ? fmt("%.2f", *p->logloss) : "") << " |\n";
    }
  }
  return o.str();
}

std::string comparison_json(const Comparison& c, const std::string& command) {
  const RunSummary* ref = any_run(c);
  const std::size_t cells = ref ? ref->cell_auc.size() : 0;
  util::JsonWriter j;
  auto ms = [&](const MeanStd& m) {
    j.begin_object();
    j.key("mean").value(m.n ? m.mean : NAN);
    j.key("std").value(m.n ? m.std : NAN);
    j.key("n").value(m.n);
    j.end_object();
  };
  j.begin_object();
  j.key("command").value(command);
  j.key("data").value(ref ? ref->data : "");
  j.key("split").value(ref ? ref->split : "");
  j.key("cells").begin_array();
  for (std::size_t i = 0; i < cells; ++i) j.value(ref->domains[i] + "/" + ref->tasks[i]);
  j.end_array();
  j.key("warnings").begin_array();
  for (const std::string& w : c.warnings) j.value(w);
  j.end_array();
  j.key("models").begin_array();
  for (const std::string& model : c.models) {
    const auto it = c.runs.find(model);
    const std::vector<RunSummary> none;
    const std::vector<RunSummary>& runs = it == c.runs.end() ? none : it->second;
    const Columns col = columns(runs, cells);
    j.begin_object();
    j.key("model").value(model);
    j.key("seeds").begin_array();
    for (const RunSummary& r : runs) j.value(static_cast<long long>(r.seed));
    j.end_array();
    j.key("parameters").value(col.parameters);
    j.key("cell_auc").begin_array();
    for (const MeanStd& m : col.cells) ms(m);
    j.end_array();
    j.key("mean_auc");
    ms(col.auc);
    j.key("mean_logloss");
    ms(col.logloss);
    j.key("train_seconds");
    ms(col.seconds);
    j.key("seconds_per_epoch");
    ms(col.seconds_per_epoch);
    j.key("runs").begin_array();
    for (const RunSummary& r : runs) {
      j.begin_object();
      j.key("seed").value(static_cast<long long>(r.seed));
      j.key("epochs_run").value(r.epochs_run);
      j.key("best_epoch").value(r.best_epoch);
      j.key("train_seconds").value(r.train_seconds);
      j.key("mean_auc").value(r.mean_auc ? *r.mean_auc : NAN);
      j.key("mean_logloss").value(r.mean_logloss ? *r.mean_logloss : NAN);
      j.key("cell_auc").begin_array();
      for (const auto& a : r.cell_auc) j.value(a ? *a : NAN);
      j.end_array();
      j.end_object();
    }
    j.end_array();
    if (const PaperNumbers* p = ref && ref->data == "movielens" ? paper_ml1m(model) : nullptr) {
      j.key("paper").begin_object();
      j.key("cell_auc").begin_array();
      for (double v : p->cells) j.value(v / 100);
      j.end_array();
      j.key("mean_auc").value(p->mean_auc / 100);
      j.key("logloss").value(p->logloss ? *p->logloss / 100 : NAN);
      j.end_object();
    }
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str() + "\n";
}

void write_comparison(const std::string& out, const Comparison& c, const std::string& command) {
  util::make_dirs(out);
  util::write_file_atomic(out + "/comparison.md", format_comparison(c, command));
  util::write_file_atomic(out + "/comparison.json", comparison_json(c, command));
}

}  // namespace m3oe::train
