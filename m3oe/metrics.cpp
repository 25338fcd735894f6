#include "m3oe/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace m3oe::metrics {

namespace {

struct Scored {
  double score;
  bool positive;
};

bool is_binary(float y) { return y == 0.0f || y == 1.0f; }

std::string index_name(std::size_t i, int num_tasks) {
  if (num_tasks <= 0) return "index " + std::to_string(i);
  return "row " + std::to_string(i / static_cast<std::size_t>(num_tasks)) + " task " +
         std::to_string(i % static_cast<std::size_t>(num_tasks));
}

std::string value_str(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// AUC of already validated pairs (reordered in place).
//
// Sort by score; walk the groups of equal scores from the lowest up. A
// positive beats every negative with a lower score and ties with the
// negatives of its own group (worth one half each), so
//   AUC = sum over groups of (neg_below * pos_g + pos_g * neg_g / 2) / (P * N).
// This is the area under the ROC curve with each tied group drawn as one
// straight (trapezoid) step, i.e. sklearn's roc_auc_score. Counting twice
// the numerator in integers keeps it exact.
std::optional<double> auc_of(std::vector<Scored>& v) {
  std::int64_t pos = 0;
  for (const Scored& s : v) pos += s.positive;
  const std::int64_t neg = static_cast<std::int64_t>(v.size()) - pos;
  if (pos == 0 || neg == 0) return std::nullopt;
  std::sort(v.begin(), v.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
  std::int64_t neg_below = 0, twice_numerator = 0;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    std::int64_t pos_g = 0, neg_g = 0;
    for (; j < v.size() && v[j].score == v[i].score; ++j) (v[j].positive ? pos_g : neg_g) += 1;
    twice_numerator += 2 * neg_below * pos_g + pos_g * neg_g;
    neg_below += neg_g;
    i = j;
  }
  return static_cast<double>(twice_numerator) / (2.0 * static_cast<double>(pos) * static_cast<double>(neg));
}

// Mean clipped BCE of one (p, y) pair.
double bce(double p, bool positive, double eps) {
  p = std::clamp(p, eps, 1.0 - eps);
  return positive ? -std::log(p) : -std::log1p(-p);
}

template <class P>
void check_probability(P p, std::size_t i, int num_tasks) {
  if (!(p >= 0 && p <= 1))
    throw std::invalid_argument("prediction at " + index_name(i, num_tasks) + " is " +
                                value_str(static_cast<double>(p)) + ", not a probability in [0,1]");
}

void check_label(float y, std::size_t i, int num_tasks) {
  if (!is_binary(y))
    throw std::invalid_argument("label at " + index_name(i, num_tasks) + " is " + value_str(y) +
                                ", labels must be 0 or 1");
}

template <class P>
std::optional<double> roc_auc_impl(std::span<const P> scores, std::span<const float> labels) {
  if (scores.size() != labels.size())
    throw std::invalid_argument("roc_auc: " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels");
  std::vector<Scored> v(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i]))
      throw std::invalid_argument("roc_auc: score at index " + std::to_string(i) + " is " +
                                  value_str(static_cast<double>(scores[i])));
    check_label(labels[i], i, 0);
    v[i] = {static_cast<double>(scores[i]), labels[i] == 1.0f};
  }
  return auc_of(v);
}

template <class P>
std::optional<double> log_loss_impl(std::span<const P> probs, std::span<const float> labels, double eps) {
  if (probs.size() != labels.size())
    throw std::invalid_argument("log_loss: " + std::to_string(probs.size()) + " predictions but " +
                                std::to_string(labels.size()) + " labels");
  if (probs.empty()) return std::nullopt;
  double sum = 0.0;
  for (std::size_t i = 0; i < probs.size(); ++i) {
    check_probability(probs[i], i, 0);
    check_label(labels[i], i, 0);
    sum += bce(static_cast<double>(probs[i]), labels[i] == 1.0f, eps);
  }
  return sum / static_cast<double>(probs.size());
}

std::optional<double> mean_loss(const std::vector<Scored>& v) {
  if (v.empty()) return std::nullopt;
  double sum = 0.0;
  for (const Scored& s : v) sum += bce(s.score, s.positive, kLogLossEps);
  return sum / static_cast<double>(v.size());
}

std::string cell_name(const Evaluation& e, int d, int t) {
  return "cell (domain '" + e.domain_names[static_cast<std::size_t>(d)] + "', task '" +
         e.task_names[static_cast<std::size_t>(t)] + "')";
}

template <class P>
Evaluation evaluate_impl(std::span<const P> probs, std::span<const float> labels,
                         std::span<const std::int32_t> domain, int D, int T,
                         std::vector<std::string> domain_names, std::vector<std::string> task_names) {
  if (D <= 0 || T <= 0)
    throw std::invalid_argument("evaluate: need at least one domain and one task, got D=" +
                                std::to_string(D) + " T=" + std::to_string(T));
  const std::size_t n = domain.size(), nt = static_cast<std::size_t>(T);
  if (probs.size() != n * nt || labels.size() != n * nt)
    throw std::invalid_argument("evaluate: " + std::to_string(n) + " rows and " + std::to_string(T) +
                                " tasks need " + std::to_string(n * nt) + " predictions and labels, got " +
                                std::to_string(probs.size()) + " and " + std::to_string(labels.size()));
  for (std::size_t i = 0; i < n * nt; ++i) {
    check_probability(probs[i], i, T);
    check_label(labels[i], i, T);
  }
  for (std::size_t r = 0; r < n; ++r)
    if (domain[r] < 0 || domain[r] >= D)
      throw std::invalid_argument("evaluate: row " + std::to_string(r) + " has domain " +
                                  std::to_string(domain[r]) + ", expected 0.." + std::to_string(D - 1));

  Evaluation e;
  e.num_domains = D;
  e.num_tasks = T;
  if (domain_names.size() != static_cast<std::size_t>(D)) {
    domain_names.clear();
    for (int d = 0; d < D; ++d) domain_names.push_back(std::string("d").append(std::to_string(d)));
  }
  if (task_names.size() != nt) {
    task_names.clear();
    for (int t = 0; t < T; ++t) task_names.push_back(std::string("t").append(std::to_string(t)));
  }
  e.domain_names = std::move(domain_names);
  e.task_names = std::move(task_names);

  // Group the rows by domain (keeping their order).
  std::vector<std::vector<std::size_t>> rows_of(static_cast<std::size_t>(D));
  for (std::size_t r = 0; r < n; ++r) rows_of[static_cast<std::size_t>(domain[r])].push_back(r);

  double auc_sum = 0.0, loss_sum = 0.0;
  std::vector<Scored> v;
  for (int d = 0; d < D; ++d) {
    for (int t = 0; t < T; ++t) {
      CellMetrics c;
      c.domain = d;
      c.task = t;
      v.clear();
      for (const std::size_t r : rows_of[static_cast<std::size_t>(d)]) {
        const std::size_t i = r * nt + static_cast<std::size_t>(t);
        v.push_back({static_cast<double>(probs[i]), labels[i] == 1.0f});
      }
      c.count = static_cast<std::int64_t>(v.size());
      for (const Scored& s : v) c.positives += s.positive;
      c.logloss = mean_loss(v);
      c.auc = auc_of(v);
      if (c.count == 0) {
        e.warnings.push_back(cell_name(e, d, t) + ": no rows: AUC and logloss n/a");
      } else if (!c.auc) {
        e.warnings.push_back(cell_name(e, d, t) + ": " + std::to_string(c.count) + " rows, all " +
                             (c.positives == 0 ? "negative" : "positive") + ": AUC n/a");
      }
      if (c.auc) {
        auc_sum += *c.auc;
        ++e.auc_cells;
      }
      if (c.logloss) {
        loss_sum += *c.logloss;
        ++e.logloss_cells;
      }
      e.cells.push_back(c);
    }
  }
  if (e.auc_cells > 0) e.mean_auc = auc_sum / e.auc_cells;
  if (e.logloss_cells > 0) e.mean_logloss = loss_sum / e.logloss_cells;

  // Pooled over domains, per task; then everything together.
  std::vector<Scored> all;
  all.reserve(n * nt);
  for (int t = 0; t < T; ++t) {
    v.clear();
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t i = r * nt + static_cast<std::size_t>(t);
      v.push_back({static_cast<double>(probs[i]), labels[i] == 1.0f});
    }
    all.insert(all.end(), v.begin(), v.end());
    e.task_logloss.push_back(mean_loss(v));
    e.task_auc.push_back(auc_of(v));
    if (!e.task_auc.back())
      e.warnings.push_back("task '" + e.task_names[static_cast<std::size_t>(t)] +
                           "' pooled over domains: " + (n == 0 ? "no rows" : "one class only") + ": AUC n/a");
  }
  e.overall_logloss = mean_loss(all);
  e.overall_auc = auc_of(all);
  if (!e.overall_auc) e.warnings.push_back("all tasks pooled: fewer than two classes: AUC n/a");
  return e;
}

std::string fmt(const std::optional<double>& v) {
  if (!v) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", *v);
  return buf;
}

}  // namespace

std::optional<double> roc_auc(std::span<const float> scores, std::span<const float> labels) {
  return roc_auc_impl(scores, labels);
}
std::optional<double> roc_auc(std::span<const double> scores, std::span<const float> labels) {
  return roc_auc_impl(scores, labels);
}
std::optional<double> log_loss(std::span<const float> probs, std::span<const float> labels, double eps) {
  return log_loss_impl(probs, labels, eps);
}
std::optional<double> log_loss(std::span<const double> probs, std::span<const float> labels, double eps) {
  return log_loss_impl(probs, labels, eps);
}

Evaluation evaluate(std::span<const float> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, int num_domains, int num_tasks) {
  return evaluate_impl(probs, labels, domain, num_domains, num_tasks, {}, {});
}
Evaluation evaluate(std::span<const double> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, int num_domains, int num_tasks) {
  return evaluate_impl(probs, labels, domain, num_domains, num_tasks, {}, {});
}
Evaluation evaluate(std::span<const float> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, const data::Schema& schema) {
  return evaluate_impl(probs, labels, domain, schema.num_domains(), schema.num_tasks(),
                       schema.domains, schema.tasks);
}
Evaluation evaluate(std::span<const double> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, const data::Schema& schema) {
  return evaluate_impl(probs, labels, domain, schema.num_domains(), schema.num_tasks(),
                       schema.domains, schema.tasks);
}

std::string format_evaluation(const Evaluation& e) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-12s %10s %10s %8s %8s\n", "domain", "task", "rows",
                "positives", "AUC", "logloss");
  out += line;
  for (const CellMetrics& c : e.cells) {
    std::snprintf(line, sizeof line, "%-24s %-12s %10lld %10lld %8s %8s\n",
                  e.domain_names[static_cast<std::size_t>(c.domain)].c_str(),
                  e.task_names[static_cast<std::size_t>(c.task)].c_str(),
                  static_cast<long long>(c.count), static_cast<long long>(c.positives),
                  fmt(c.auc).c_str(), fmt(c.logloss).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "mean over cells: AUC %s (%d cells), logloss %s (%d cells)\n",
                fmt(e.mean_auc).c_str(), e.auc_cells, fmt(e.mean_logloss).c_str(), e.logloss_cells);
  out += line;
  for (int t = 0; t < e.num_tasks; ++t) {
    std::snprintf(line, sizeof line, "pooled task %-12s AUC %s, logloss %s\n",
                  e.task_names[static_cast<std::size_t>(t)].c_str(),
                  fmt(e.task_auc[static_cast<std::size_t>(t)]).c_str(),
                  fmt(e.task_logloss[static_cast<std::size_t>(t)]).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "pooled all: AUC %s, logloss %s\n", fmt(e.overall_auc).c_str(),
                fmt(e.overall_logloss).c_str());
  out += line;
  for (const std::string& w : e.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace m3oe::metrics
