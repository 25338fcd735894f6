#include "m3oe/train/results.hpp"

#include "m3oe/util/files.hpp"
#include "m3oe/util/json.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace m3oe::train {

namespace {

std::string num(double v, const char* fmt = "%.9g") {
  char buf[40];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}
std::string opt_num(const std::optional<double>& v) { return v ? num(*v) : ""; }

std::optional<double> parse_opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return std::stod(s);
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') { out.push_back(cur); cur.clear(); }
    else cur += c;
  }
  out.push_back(cur);
  return out;
}

std::string cell_name(const data::Schema& s, int d, int t) {
  return s.domains[static_cast<std::size_t>(d)] + "/" + s.tasks[static_cast<std::size_t>(t)];
}

struct MeanStd {
  double mean = NAN, std = NAN;
  int n = 0;
};
MeanStd mean_std(const std::vector<std::optional<double>>& xs) {
  MeanStd m;
  double s = 0;
  for (const auto& x : xs)
    if (x) { s += *x; ++m.n; }
  if (m.n == 0) return m;
  m.mean = s / m.n;
  if (m.n < 2) { m.std = 0; return m; }
  double v = 0;
  for (const auto& x : xs)
    if (x) v += (*x - m.mean) * (*x - m.mean);
  m.std = std::sqrt(v / (m.n - 1));
  return m;
}

void write_evaluation(util::JsonWriter& j, const metrics::Evaluation& e) {
  auto opt = [&](const std::optional<double>& v) -> util::JsonWriter& {
    return v ? j.value(*v) : j.null();
  };
  j.begin_object();
  j.key("mean_auc"); opt(e.mean_auc);
  j.key("mean_logloss"); opt(e.mean_logloss);
  j.key("overall_auc"); opt(e.overall_auc);
  j.key("overall_logloss"); opt(e.overall_logloss);
  j.key("cells").begin_array();
  for (const auto& c : e.cells) {
    j.begin_object();
    j.key("domain").value(e.domain_names[static_cast<std::size_t>(c.domain)]);
    j.key("task").value(e.task_names[static_cast<std::size_t>(c.task)]);
    j.key("rows").value(static_cast<long long>(c.count));
    j.key("positives").value(static_cast<long long>(c.positives));
    j.key("auc"); opt(c.auc);
    j.key("logloss"); opt(c.logloss);
    j.end_object();
  }
  j.end_array();
  j.key("warnings").begin_array();
  for (const auto& w : e.warnings) j.value(w);
  j.end_array();
  j.end_object();
}

}  // namespace

// ---------------------------------------------------------------- RunLog

void RunLog::add_epoch(const EpochLog& e, bool is_best) {
  epochs_.push_back(e);
  best_marks_.push_back(is_best ? 1 : 0);
}

std::string RunLog::epoch_line(const EpochLog& e) const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "epoch %3d  loss %.4f  valid AUC %s  logloss %s  %6.1fs %8.0f rows/s",
                e.epoch + 1, e.train_loss, e.valid_auc ? num(*e.valid_auc, "%.4f").c_str() : "n/a",
                e.valid_logloss ? num(*e.valid_logloss, "%.4f").c_str() : "n/a", e.seconds,
                e.rows_per_second);
  std::string line = buf;
  if (fusion_) {
    std::snprintf(buf, sizeof buf, "  alpha_d %.3f alpha_t %.3f beta_d %.3f beta_t %.3f",
                  double(e.fusion.alpha_d), double(e.fusion.alpha_t), double(e.fusion.beta_d),
                  double(e.fusion.beta_t));
    line += buf;
  }
  if (!best_marks_.empty() && best_marks_.back()) line += "  *best";
  return line;
}

std::string RunLog::metrics_csv() const {
  std::string s = "epoch,train_loss,seconds,rows_per_second,lr,valid_mean_auc,valid_mean_logloss,best";
  for (int d = 0; d < schema_.num_domains(); ++d)
    for (int t = 0; t < schema_.num_tasks(); ++t) s += ",valid_auc[" + cell_name(schema_, d, t) + "]";
  s += "\n";
  for (std::size_t i = 0; i < epochs_.size(); ++i) {
    const EpochLog& e = epochs_[i];
    s += std::to_string(e.epoch) + "," + num(e.train_loss) + "," + num(e.seconds) + "," +
         num(e.rows_per_second) + "," + num(e.lr) + "," + opt_num(e.valid_auc) + "," +
         opt_num(e.valid_logloss) + "," + std::to_string(best_marks_[i]);
    for (const auto& c : e.cell_auc) s += "," + opt_num(c);
    s += "\n";
  }
  return s;
}

std::string RunLog::fusion_csv() const {
  std::string s = "epoch,alpha_d,alpha_t,beta_d,beta_t\n";
  for (const EpochLog& e : epochs_)
    s += std::to_string(e.epoch) + "," + num(e.fusion.alpha_d) + "," + num(e.fusion.alpha_t) + "," +
         num(e.fusion.beta_d) + "," + num(e.fusion.beta_t) + "\n";
  return s;
}

std::map<std::string, std::string> RunLog::to_meta() const {
  return {{"metrics_csv", metrics_csv()}, {"fusion_csv", fusion_csv()}};
}

void RunLog::restore(const std::map<std::string, std::string>& meta) {
  epochs_.clear();
  best_marks_.clear();
  std::istringstream m(meta.at("metrics_csv")), f(meta.at("fusion_csv"));
  std::string ml, fl;
  std::getline(m, ml);  // headers
  std::getline(f, fl);
  const std::size_t cells = static_cast<std::size_t>(schema_.num_domains() * schema_.num_tasks());
  while (std::getline(m, ml) && std::getline(f, fl)) {
    const auto a = split_csv(ml), b = split_csv(fl);
    if (a.size() != 8 + cells || b.size() != 5)
      throw std::runtime_error("checkpoint: the epoch log does not match this data's domains and tasks");
    EpochLog e;
    e.epoch = std::stoi(a[0]);
    e.train_loss = std::stod(a[1]);
    e.seconds = std::stod(a[2]);
    e.rows_per_second = std::stod(a[3]);
    e.lr = std::stod(a[4]);
    e.valid_auc = parse_opt(a[5]);
    e.valid_logloss = parse_opt(a[6]);
    for (std::size_t c = 0; c < cells; ++c) e.cell_auc.push_back(parse_opt(a[8 + c]));
    e.fusion = {real(std::stod(b[1])), real(std::stod(b[2])), real(std::stod(b[3])), real(std::stod(b[4]))};
    epochs_.push_back(e);
    best_marks_.push_back(std::stoi(a[7]));
  }
}

void RunLog::write_files(const std::string& run_dir) const {
  util::write_file_atomic(run_dir + "/metrics.csv", metrics_csv());
  if (fusion_) util::write_file_atomic(run_dir + "/fusion_weights.csv", fusion_csv());
}

double RunLog::train_seconds() const {
  double s = 0;
  for (const EpochLog& e : epochs_) s += e.seconds;
  return s;
}

// ---------------------------------------------------------------- tensors

NamedTensors select_prefixed(const NamedTensors& all, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [name, t] : all)
    if (name.compare(0, prefix.size(), prefix) == 0) out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

void append_prefixed(NamedTensors& out, const std::string& prefix, const NamedTensors& in) {
  for (const auto& [name, t] : in) out.emplace_back(prefix + name, t);
}

// ---------------------------------------------------------------- results.json

void write_results_json(const std::string& path, const TrainConfig& cfg, const RunResult& r,
                        const RecModel& model) {
  util::JsonWriter j;
  j.begin_object();
  j.key("model").value(cfg.model);
  j.key("model_type").value(model.type_name());
  j.key("data").value(cfg.data);
  j.key("split").value(r.split);
  j.key("seed").value(static_cast<long long>(r.seed));
  j.key("automl").value(to_string(cfg.automl));
  j.key("parameters").value(static_cast<long long>(model.num_parameters()));
  j.key("epochs_run").value(static_cast<int>(r.history.size()));
  j.key("best_epoch").value(r.best_epoch);
  j.key("selection").value(r.selection);
  j.key("stopped_early").value(r.stopped_early);
  j.key("train_seconds").value(r.train_seconds);
  if (model.has_fusion_weights()) {
    const FusionWeights fw = model.fusion_weights();
    j.key("fusion_weights").begin_object();
    j.key("alpha_d").value(double(fw.alpha_d));
    j.key("alpha_t").value(double(fw.alpha_t));
    j.key("beta_d").value(double(fw.beta_d));
    j.key("beta_t").value(double(fw.beta_t));
    j.end_object();
  }
  j.key("valid");
  write_evaluation(j, r.best_valid);
  j.key("test");
  write_evaluation(j, r.test);
  j.end_object();
  util::write_file_atomic(path, j.str() + "\n");
}

// ---------------------------------------------------------------- seeds

std::string format_seed_summary(const std::vector<RunResult>& runs, const data::Schema& schema) {
  const int D = schema.num_domains(), T = schema.num_tasks();
  std::ostringstream o;
  o << "Test metrics over " << runs.size() << " seed" << (runs.size() == 1 ? "" : "s") << " (";
  for (std::size_t i = 0; i < runs.size(); ++i) o << (i ? "," : "") << runs[i].seed;
  o << "), mean +- sample std; AUC and log loss x100.";
  if (!runs.empty()) o << " Split: " << runs[0].split << ".";
  o << "\n\n| metric |";
  for (int d = 0; d < D; ++d)
    for (int t = 0; t < T; ++t) o << " " << cell_name(schema, d, t) << " |";
  o << " mean AUC | mean logloss |\n|---|";
  for (int i = 0; i < D * T + 2; ++i) o << "---|";
  o << "\n";
  auto row = [&](const char* label, auto get) {
    o << "| " << label << " |";
    for (int c = 0; c < D * T; ++c) {
      std::vector<std::optional<double>> xs;
      for (const RunResult& r : runs) xs.push_back(get(r.test.cells[static_cast<std::size_t>(c)]));
      const MeanStd m = mean_std(xs);
      o << " " << (m.n ? num(100 * m.mean, "%.2f") + " +- " + num(100 * m.std, "%.2f") : std::string("n/a"))
        << " |";
    }
    return &o;
  };
  row("AUC", [](const metrics::CellMetrics& c) { return c.auc; });
  {
    std::vector<std::optional<double>> a, l;
    for (const RunResult& r : runs) a.push_back(r.test.mean_auc), l.push_back(r.test.mean_logloss);
    const MeanStd ma = mean_std(a), ml = mean_std(l);
    o << " " << num(100 * ma.mean, "%.2f") << " +- " << num(100 * ma.std, "%.2f") << " | "
      << num(100 * ml.mean, "%.2f") << " +- " << num(100 * ml.std, "%.2f") << " |\n";
  }
  row("logloss", [](const metrics::CellMetrics& c) { return c.logloss; });
  o << " | |\n";
  return o.str();
}

void write_seed_summary(const std::string& out_dir, const TrainConfig& cfg,
                        const std::vector<RunResult>& runs, const data::Schema& schema) {
  util::write_file_atomic(out_dir + "/summary.md", format_seed_summary(runs, schema));
  util::JsonWriter j;
  j.begin_object();
  j.key("data").value(cfg.data);
  j.key("split").value(runs.empty() ? "" : runs[0].split);
  j.key("automl").value(to_string(cfg.automl));
  j.key("runs").begin_array();
  for (const RunResult& r : runs) {
    j.begin_object();
    j.key("seed").value(static_cast<long long>(r.seed));
    j.key("best_epoch").value(r.best_epoch);
  j.key("selection").value(r.selection);
    j.key("train_seconds").value(r.train_seconds);
    j.key("test");
    write_evaluation(j, r.test);
    j.end_object();
  }
  j.end_array();
  j.end_object();
  util::write_file_atomic(out_dir + "/summary.json", j.str() + "\n");
}

}  // namespace m3oe::train
