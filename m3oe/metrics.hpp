// metrics.hpp: ROC AUC, log loss and the per-(domain, task) evaluation.
//
// M3oE is judged cell by cell: for every domain d and task t, the AUC and
// log loss of task t's predictions on the rows of domain d (paper Table 2),
// then the mean over the D*T cells. A cell can be empty or hold one class
// only (AUC undefined); such a cell is reported as n/a with a warning, and
// left out of the means, instead of crashing the run.
//
// Agreement with scikit-learn:
//  * roc_auc equals sklearn.metrics.roc_auc_score for binary labels, ties
//    included: tied scores form one step of the ROC curve, integrated with
//    the trapezoid rule, which is the same as counting every (positive,
//    negative) pair with a tie as one half (the Mann-Whitney U statistic).
//  * log_loss equals sklearn.metrics.log_loss with its pre-1.3 default
//    eps = 1e-15: probabilities are clipped to [1e-15, 1 - 1e-15] (in
//    double) before the logarithm. (sklearn >= 1.3 clips at the dtype's
//    machine epsilon instead; the two differ only for predictions closer
//    than 1e-15 to 0 or 1.)
#pragma once

#include "m3oe/data/dataset.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace m3oe::metrics {

inline constexpr double kLogLossEps = 1e-15;

// Binary ROC AUC of `scores` (any finite numbers; higher = more positive)
// against `labels` (each 0 or 1). O(n log n). std::nullopt when the labels
// hold fewer than two classes (empty, all 0 or all 1). Throws
// std::invalid_argument on a size mismatch, a label that is not 0/1 or a
// non-finite score, naming the index.
std::optional<double> roc_auc(std::span<const float> scores, std::span<const float> labels);
std::optional<double> roc_auc(std::span<const double> scores, std::span<const float> labels);

// Mean binary cross-entropy -[y log p + (1-y) log(1-p)] with p clipped to
// [eps, 1-eps]. std::nullopt when empty. Throws std::invalid_argument on a
// size mismatch, a label that is not 0/1 or a probability outside [0,1]
// (NaN included), naming the index.
std::optional<double> log_loss(std::span<const float> probs, std::span<const float> labels,
                               double eps = kLogLossEps);
std::optional<double> log_loss(std::span<const double> probs, std::span<const float> labels,
                               double eps = kLogLossEps);

struct CellMetrics {
  int domain = 0, task = 0;
  std::int64_t count = 0;      // rows of this domain
  std::int64_t positives = 0;  // of which label 1 for this task
  std::optional<double> auc;      // n/a when empty or single-class
  std::optional<double> logloss;  // n/a when empty
};

struct Evaluation {
  int num_domains = 0, num_tasks = 0;
  std::vector<std::string> domain_names, task_names;  // for messages and tables
  std::vector<CellMetrics> cells;  // D*T cells, domain-major: cells[d * T + t]
  // Means over the D*T cells (unweighted, as the paper's "mean AUC"),
  // counting only the cells where the metric is defined.
  std::optional<double> mean_auc, mean_logloss;
  int auc_cells = 0, logloss_cells = 0;  // how many cells each mean covers
  // Pooled over all domains: one AUC / log loss per task ...
  std::vector<std::optional<double>> task_auc, task_logloss;
  // ... and over all n*T (row, task) predictions together.
  std::optional<double> overall_auc, overall_logloss;
  // One line per n/a cell or pooled metric, e.g.
  // "cell (domain 'age 25', task 'like'): 812 rows, all negative: AUC n/a".
  std::vector<std::string> warnings;

  const CellMetrics& cell(int d, int t) const {
    return cells[static_cast<std::size_t>(d * num_tasks + t)];
  }
};

// Evaluates predictions of one split. probs [n,T] row-major probabilities,
// labels [n,T] 0/1, domain [n] each in 0..D-1. Throws std::invalid_argument
// on a shape mismatch, a domain out of range, a label that is not 0/1 or a
// probability outside [0,1], naming the row and task.
Evaluation evaluate(std::span<const float> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, int num_domains, int num_tasks);
Evaluation evaluate(std::span<const double> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, int num_domains, int num_tasks);
// The same with the domain and task names (and D, T) taken from `schema`.
Evaluation evaluate(std::span<const float> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, const data::Schema& schema);
Evaluation evaluate(std::span<const double> probs, std::span<const float> labels,
                    std::span<const std::int32_t> domain, const data::Schema& schema);

// A fixed-width text table of the cells, the means, the pooled metrics and
// the warnings, e.g. for the console.
std::string format_evaluation(const Evaluation& e);

}  // namespace m3oe::metrics
