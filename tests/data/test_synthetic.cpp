// The synthetic generator: deterministic for a seed, the requested shape,
// and the promised structure (domain- and task-specific signal on top of a
// shared one), checked with the generating model's own logits.
#include "m3oe/data/synthetic.hpp"
#include "m3oe/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace m3oe;
using namespace m3oe::data;

namespace {
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Evaluates "predictions" built from the truth for the training rows.
metrics::Evaluation oracle(const Splits& s, const SyntheticTruth& tr,
                           double (*logit)(const SyntheticTruth&, std::size_t row, int d, int t, int T)) {
  const Dataset& ds = s.train;
  const int T = ds.schema.num_tasks();
  std::vector<double> p(static_cast<std::size_t>(ds.rows * T));
  for (std::int64_t r = 0; r < ds.rows; ++r)
    for (int t = 0; t < T; ++t)
      p[static_cast<std::size_t>(r * T + t)] =
          sigmoid(logit(tr, static_cast<std::size_t>(r), ds.domain[static_cast<std::size_t>(r)], t, T));
  return metrics::evaluate(p, ds.labels, ds.domain, ds.schema);
}
}  // namespace

TEST_CASE("synthetic: shape, schema and ranges") {
  SyntheticOptions o;
  const Splits s = make_synthetic(o);
  CHECK(s.train.rows == 48000);
  CHECK(s.valid.rows == 6000);
  CHECK(s.test.rows == 6000);
  CHECK(s.description == "synthetic D=3 T=2 rows=60000 seed=2022, 80/10/10");
  const Schema& sc = s.train.schema;
  CHECK(sc.num_domains() == 3);
  CHECK(sc.num_tasks() == 2);
  REQUIRE(sc.sparse.size() == 4);  // 3 id features + the domain id
  CHECK(sc.sparse[0].vocab == 500);
  CHECK(sc.sparse[3].name == "domain_indicator");
  CHECK(sc.dense.size() == 2);
  std::int64_t bad_ids = 0, bad_domain_feature = 0, bad_dense = 0, bad_labels = 0;
  for (std::int64_t r = 0; r < s.train.rows; ++r)
    for (std::size_t f = 0; f < 4; ++f) {
      const std::int32_t id = s.train.sparse[static_cast<std::size_t>(r) * 4 + f];
      bad_ids += !(id >= 0 && id < sc.sparse[f].vocab);
      if (f == 3) bad_domain_feature += id != s.train.domain[static_cast<std::size_t>(r)];
    }
  for (const float x : s.train.dense) bad_dense += !(x >= 0.0f && x < 1.0f);
  for (const float y : s.train.labels) bad_labels += !(y == 0.0f || y == 1.0f);
  CHECK(bad_ids == 0);
  CHECK(bad_domain_feature == 0);
  CHECK(bad_dense == 0);
  CHECK(bad_labels == 0);
}

TEST_CASE("synthetic: the same seed gives the same data, another seed other data") {
  SyntheticOptions o;
  o.rows = 5000;
  const Splits a = make_synthetic(o), b = make_synthetic(o);
  CHECK(a.train.sparse == b.train.sparse);
  CHECK(a.train.dense == b.train.dense);
  CHECK(a.train.labels == b.train.labels);
  CHECK(a.test.labels == b.test.labels);
  o.seed = 2023;
  const Splits c = make_synthetic(o);
  CHECK(a.train.sparse != c.train.sparse);
  CHECK(a.train.labels != c.train.labels);
}

TEST_CASE("synthetic: domain weights and per-cell label rates") {
  SyntheticOptions o;
  o.domain_weights = {1, 2, 2};  // like ML-1M's 21% / 40% / 39%
  const Splits s = make_synthetic(o);
  std::int64_t count[3] = {0, 0, 0};
  for (const std::int32_t d : s.train.domain) ++count[d];
  CHECK(count[0] / 48000.0 == doctest::Approx(0.2).epsilon(0.05));
  CHECK(count[1] / 48000.0 == doctest::Approx(0.4).epsilon(0.05));
  // Every cell has both classes and a rate of its own.
  const SyntheticOptions plain;
  SyntheticTruth tr;
  const Splits p = make_synthetic(plain, &tr);
  const auto e = oracle(p, tr, [](const SyntheticTruth& t, std::size_t r, int, int k, int T) {
    return double(t.logit[r * std::size_t(T) + std::size_t(k)]);
  });
  CHECK(e.warnings.empty());
  double lo = 1, hi = 0;
  for (const auto& c : e.cells) {
    const double rate = double(c.positives) / double(c.count);
    CHECK((rate > 0.15 && rate < 0.85));
    lo = std::min(lo, rate);
    hi = std::max(hi, rate);
  }
  CHECK(hi - lo > 0.05);
}

TEST_CASE("synthetic: the domain and task signals matter in every cell") {
  SyntheticTruth tr;
  const Splits s = make_synthetic({}, &tr);
  const std::size_t T = 2;
  // The parts add up to the logit.
  for (std::size_t r = 0; r < 1000; ++r) {
    const std::size_t d = static_cast<std::size_t>(s.train.domain[r]);
    for (std::size_t t = 0; t < T; ++t)
      CHECK(tr.logit[r * T + t] == doctest::Approx(tr.bias[d * T + t] + tr.shared[r] + tr.domain_part[r] +
                                                   tr.task_part[r * T + t]).epsilon(1e-5));
  }
  // The best possible model (the true logit) against one that knows only the
  // shared signal (and the cell's base rate): the full model must win every
  // cell clearly, and adding only the task part must not be enough either.
  const auto full = oracle(s, tr, [](const SyntheticTruth& t, std::size_t r, int, int k, int Tn) {
    return double(t.logit[r * std::size_t(Tn) + std::size_t(k)]);
  });
  const auto shared = oracle(s, tr, [](const SyntheticTruth& t, std::size_t r, int d, int k, int Tn) {
    return double(t.shared[r] + t.bias[std::size_t(d * Tn + k)]);
  });
  const auto no_domain = oracle(s, tr, [](const SyntheticTruth& t, std::size_t r, int d, int k, int Tn) {
    const std::size_t i = r * std::size_t(Tn) + std::size_t(k);
    return double(t.shared[r] + t.task_part[i] + t.bias[std::size_t(d * Tn + k)]);
  });
  for (std::size_t c = 0; c < full.cells.size(); ++c) {
    CHECK(*full.cells[c].auc > *shared.cells[c].auc + 0.05);
    CHECK(*full.cells[c].auc > *no_domain.cells[c].auc + 0.02);
  }
  CHECK(*full.mean_auc > 0.75);
  CHECK(*shared.mean_auc < 0.70);
}

TEST_CASE("synthetic: other shapes and bad options") {
  SyntheticOptions o;
  o.domains = 5;
  o.tasks = 3;
  o.rows = 1000;
  o.sparse_vocab = {10};
  o.dense = 0;
  o.domain_feature = false;
  const Splits s = make_synthetic(o);
  CHECK(s.train.schema.num_domains() == 5);
  CHECK(s.train.schema.num_tasks() == 3);
  CHECK(s.train.schema.sparse.size() == 1);
  CHECK(s.train.labels.size() == 800 * 3);
  SyntheticOptions bad;
  bad.domains = 0;
  CHECK_THROWS_WITH_AS(make_synthetic(bad), doctest::Contains("domains must be >= 1"), std::invalid_argument);
  bad = {};
  bad.domain_weights = {1, 1};
  CHECK_THROWS_AS(make_synthetic(bad), std::invalid_argument);
  bad = {};
  bad.sparse_vocab = {};
  bad.dense = 0;
  CHECK_THROWS_AS(make_synthetic(bad), std::invalid_argument);
}
