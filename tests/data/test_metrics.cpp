// Metrics: ROC AUC with ties (sklearn's roc_auc_score), clipped log loss,
// and the per-(domain, task) evaluation with empty / single-class cells.
// scikit-learn is not installed here, so every expected value is derived by
// hand in the comments (and the AUC is cross-checked against an O(n^2)
// pair count on random tied data).
#include "m3oe/metrics.hpp"

#include "m3oe/data/rng.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace m3oe;
using doctest::Approx;

namespace {
// AUC = P(score+ > score-) + 1/2 P(score+ == score-), by counting all pairs.
double pairwise_auc(const std::vector<float>& s, const std::vector<float>& y) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}
}  // namespace

TEST_CASE("roc_auc: sklearn's documentation example") {
  // roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75: of the 4
  // (pos, neg) pairs only (0.35, 0.4) is ordered wrongly.
  const std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f}, y = {0, 0, 1, 1};
  REQUIRE(metrics::roc_auc(s, y).has_value());
  CHECK(*metrics::roc_auc(s, y) == Approx(0.75).epsilon(1e-12));
}

TEST_CASE("roc_auc: ties count one half (trapezoid over the tied group)") {
  // scores 0.2 0.6 0.6 0.9 0.2, labels 0 1 0 1 1.
  // ROC points at thresholds 0.9 / 0.6 / 0.2: (FPR,TPR) = (0,1/3), (1/2,2/3), (1,1).
  // Trapezoids: 0 + 1/2*(1/3+2/3)/2 + 1/2*(2/3+1)/2 = 0.25 + 0.41667 = 2/3.
  // Pairs: (0.6,0.2)=1 (0.6,0.6)=1/2 (0.9,0.2)=1 (0.9,0.6)=1 (0.2,0.2)=1/2 (0.2,0.6)=0 -> 4/6.
  const std::vector<float> s = {0.2f, 0.6f, 0.6f, 0.9f, 0.2f}, y = {0, 1, 0, 1, 1};
  CHECK(*metrics::roc_auc(s, y) == Approx(2.0 / 3.0).epsilon(1e-12));
  // All scores tied: the ROC curve is the diagonal, AUC 1/2.
  const std::vector<float> flat = {0.5f, 0.5f, 0.5f, 0.5f}, y2 = {0, 1, 0, 1};
  CHECK(*metrics::roc_auc(flat, y2) == 0.5);
  // Perfect and reversed rankings.
  const std::vector<double> up = {0.1, 0.2, 0.3, 0.4};
  const std::vector<float> y3 = {0, 0, 1, 1}, y4 = {1, 1, 0, 0};
  CHECK(*metrics::roc_auc(up, y3) == 1.0);
  CHECK(*metrics::roc_auc(up, y4) == 0.0);
}

TEST_CASE("roc_auc equals the pair count on random data with many ties") {
  data::Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 50 + rng.below(400);
    std::vector<float> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = rng.uniform() < 0.3 ? 1.0f : 0.0f;
      // Scores on a grid of 11 values, slightly better for positives: lots of ties.
      s[i] = static_cast<float>(std::floor((rng.uniform() + 0.2 * y[i]) * 10.0) / 10.0);
    }
    y[0] = 1;
    y[1] = 0;
    CHECK(*metrics::roc_auc(s, y) == Approx(pairwise_auc(s, y)).epsilon(1e-12));
  }
}

TEST_CASE("roc_auc: one class, empty, bad input") {
  const std::vector<float> s = {0.1f, 0.2f}, zeros = {0, 0}, ones = {1, 1};
  CHECK_FALSE(metrics::roc_auc(s, zeros).has_value());
  CHECK_FALSE(metrics::roc_auc(s, ones).has_value());
  CHECK_FALSE(metrics::roc_auc(std::span<const float>(), std::span<const float>()).has_value());
  const std::vector<float> half = {0, 0.5f};
  CHECK_THROWS_WITH_AS(metrics::roc_auc(s, half), doctest::Contains("index 1"), std::invalid_argument);
  const std::vector<float> nan_score = {0.1f, std::nanf("")}, y = {0, 1};
  CHECK_THROWS_AS(metrics::roc_auc(nan_score, y), std::invalid_argument);
  const std::vector<float> short_y = {0};
  CHECK_THROWS_AS(metrics::roc_auc(s, short_y), std::invalid_argument);
}

TEST_CASE("log_loss: mean BCE, clipped at eps = 1e-15") {
  // -(ln 0.9 + ln(1-0.2) + ln 0.6) / 3 = (0.1053605 + 0.2231436 + 0.5108256) / 3
  const std::vector<float> p = {0.9f, 0.2f, 0.6f}, y = {1, 0, 1};
  CHECK(*metrics::log_loss(p, y) == Approx(0.2797765635793423).epsilon(1e-6));  // float inputs
  const std::vector<double> pd = {0.9, 0.2, 0.6};
  CHECK(*metrics::log_loss(pd, y) == Approx(0.2797765635793423).epsilon(1e-14));
  // p = 0 for a positive: clipped to 1e-15, loss -ln(1e-15) = 34.538776394910684.
  const std::vector<double> zero = {0.0}, one = {1.0};
  const std::vector<float> pos = {1}, neg = {0};
  CHECK(*metrics::log_loss(zero, pos) == Approx(34.538776394910684).epsilon(1e-14));
  // p = 1 for a negative: clipped to 1 - 1e-15 = 0.999999999999999 (as a
  // double), loss -ln(1 - 0.999999999999999) = 34.53957599234088.
  CHECK(*metrics::log_loss(one, neg) == Approx(34.53957599234088).epsilon(1e-14));
  CHECK_FALSE(metrics::log_loss(std::span<const double>(), std::span<const float>()).has_value());
  const std::vector<double> outside = {1.5};
  CHECK_THROWS_WITH_AS(metrics::log_loss(outside, pos), doctest::Contains("not a probability"),
                       std::invalid_argument);
}

TEST_CASE("evaluate: cells, means, pooled metrics and n/a cells") {
  // D = 3 (domain 2 has no rows), T = 2.
  //   row  domain  p(t0) p(t1)  y(t0) y(t1)
  //   0    0       0.9   0.3    1     0
  //   1    0       0.2   0.6    0     0
  //   2    0       0.6   0.6    1     1
  //   3    1       0.4   0.1    0     0
  //   4    1       0.7   0.2    1     0
  const std::vector<float> p = {0.9f, 0.3f, 0.2f, 0.6f, 0.6f, 0.6f, 0.4f, 0.1f, 0.7f, 0.2f};
  const std::vector<float> y = {1, 0, 0, 0, 1, 1, 0, 0, 1, 0};
  const std::vector<std::int32_t> dom = {0, 0, 0, 1, 1};
  data::Schema schema;
  schema.domains = {"young", "mid", "old"};
  schema.tasks = {"click", "like"};
  const metrics::Evaluation e = metrics::evaluate(p, y, dom, schema);
  REQUIRE(e.cells.size() == 6);

  // (0, click): positives 0.9, 0.6 above the negative 0.2 -> AUC 1.
  CHECK(e.cell(0, 0).count == 3);
  CHECK(e.cell(0, 0).positives == 2);
  CHECK(*e.cell(0, 0).auc == 1.0);
  const double ll00 = -(std::log(0.9) + std::log(0.8) + std::log(0.6)) / 3;
  CHECK(*e.cell(0, 0).logloss == Approx(ll00).epsilon(1e-6));
  // (0, like): the positive 0.6 beats 0.3 and ties 0.6 -> (1 + 1/2) / 2.
  CHECK(*e.cell(0, 1).auc == 0.75);
  const double ll01 = -(std::log(0.7) + std::log(0.4) + std::log(0.6)) / 3;
  // (1, click): 0.7 > 0.4 -> 1. (1, like): all negative -> n/a.
  CHECK(*e.cell(1, 0).auc == 1.0);
  const double ll10 = -(std::log(0.6) + std::log(0.7)) / 2;
  CHECK_FALSE(e.cell(1, 1).auc.has_value());
  const double ll11 = -(std::log(0.9) + std::log(0.8)) / 2;
  CHECK(*e.cell(1, 1).logloss == Approx(ll11).epsilon(1e-6));
  // Domain 2: empty cells, n/a everything.
  CHECK(e.cell(2, 0).count == 0);
  CHECK_FALSE(e.cell(2, 0).auc.has_value());
  CHECK_FALSE(e.cell(2, 1).logloss.has_value());

  // Means over the defined cells only.
  CHECK(e.auc_cells == 3);
  CHECK(*e.mean_auc == Approx((1.0 + 0.75 + 1.0) / 3).epsilon(1e-12));
  CHECK(e.logloss_cells == 4);
  CHECK(*e.mean_logloss == Approx((ll00 + ll01 + ll10 + ll11) / 4).epsilon(1e-6));

  // Pooled, click: positives 0.9 0.6 0.7 all above the negatives 0.2 0.4 -> 1.
  CHECK(*e.task_auc[0] == 1.0);
  // Pooled, like: the positive 0.6 beats 0.3 0.1 0.2, ties 0.6 -> 3.5 / 4.
  CHECK(*e.task_auc[1] == 0.875);
  // All 10 together: 4 positives (0.9 0.6 0.7 0.6), 6 negatives (0.2 0.4 0.3
  // 0.6 0.1 0.2): 0.9 and 0.7 win 6 each, each 0.6 wins 5 and ties 1 -> 23/24.
  CHECK(*e.overall_auc == Approx(23.0 / 24.0).epsilon(1e-12));

  // One warning per n/a cell, naming it.
  REQUIRE(e.warnings.size() == 3);
  CHECK(e.warnings[0].find("domain 'mid', task 'like'") != std::string::npos);
  CHECK(e.warnings[0].find("all negative") != std::string::npos);
  CHECK(e.warnings[1].find("domain 'old', task 'click'") != std::string::npos);
  const std::string table = metrics::format_evaluation(e);
  CHECK(table.find("n/a") != std::string::npos);
  CHECK(table.find("warning: cell (domain 'old', task 'like')") != std::string::npos);
}

TEST_CASE("evaluate: double predictions agree with float; bad input is an error") {
  const std::vector<float> pf = {0.25f, 0.75f, 0.5f, 0.5f};
  const std::vector<double> pd = {0.25, 0.75, 0.5, 0.5};
  const std::vector<float> y = {0, 1, 1, 0};
  const std::vector<std::int32_t> dom = {0, 0, 0, 0};
  const auto a = metrics::evaluate(pf, y, dom, 1, 1);
  const auto b = metrics::evaluate(pd, y, dom, 1, 1);
  CHECK(*a.mean_auc == *b.mean_auc);
  CHECK(*a.mean_logloss == Approx(*b.mean_logloss).epsilon(1e-12));
  CHECK(a.domain_names[0] == "d0");

  const std::vector<std::int32_t> bad_dom = {0, 0, 1, 0};
  CHECK_THROWS_WITH_AS(metrics::evaluate(pf, y, bad_dom, 1, 1), doctest::Contains("row 2 has domain 1"),
                       std::invalid_argument);
  const std::vector<float> nan_p = {0.25f, std::nanf(""), 0.5f, 0.5f};
  CHECK_THROWS_WITH_AS(metrics::evaluate(nan_p, y, dom, 1, 1), doctest::Contains("row 1 task 0"),
                       std::invalid_argument);
  const std::vector<float> bad_y = {0, 1, 2, 0};
  CHECK_THROWS_WITH_AS(metrics::evaluate(pf, bad_y, dom, 1, 1), doctest::Contains("labels must be 0 or 1"),
                       std::invalid_argument);
  CHECK_THROWS_AS(metrics::evaluate(pf, y, dom, 1, 2), std::invalid_argument);  // [n,T] mismatch
}

TEST_CASE("evaluate: no rows at all is reported, not a crash") {
  const auto e = metrics::evaluate(std::span<const float>(), std::span<const float>(),
                                   std::span<const std::int32_t>(), 2, 1);
  CHECK_FALSE(e.mean_auc.has_value());
  CHECK_FALSE(e.mean_logloss.has_value());
  CHECK_FALSE(e.overall_auc.has_value());
  CHECK(e.warnings.size() == 4);  // 2 empty cells, the pooled task, all pooled
}
