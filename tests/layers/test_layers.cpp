// The layers: shapes, initialisation, forward values, errors; and the Rng.
#include "autograd/ops.hpp"
#include "autograd/rng.hpp"
#include "layers/blocks.hpp"
#include "layers/embedding.hpp"
#include "layers/init.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "layers/star.hpp"
#include "m3oe/feature_embedder.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>

using namespace m3oe;

namespace {
Tensor random_tensor(Index r, Index c, Rng& rng) { return nn::init::uniform(r, c, 1.0, rng); }
}  // namespace

TEST_CASE("Rng: same seed, same stream; distributions have the right moments") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) {
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    CHECK(x != c.next_u64());
  }
  Rng r(7);
  double sum = 0, sum_sq = 0, lo = 1, hi = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    const double z = r.normal(3.0, 2.0);
    sum += z;
    sum_sq += (z - 3.0) * (z - 3.0);
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(sum / n == doctest::Approx(3.0).epsilon(0.01));
  CHECK(std::sqrt(sum_sq / n) == doctest::Approx(2.0).epsilon(0.01));
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 30000; ++i) ++counts[r.below(3)];
  for (int k : counts) CHECK(k == doctest::Approx(10000).epsilon(0.03));
  CHECK_THROWS_AS(r.below(0), std::invalid_argument);
  std::vector<int> v = {0, 1, 2, 3, 4, 5, 6, 7};
  r.shuffle(std::span<int>(v));
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("Linear: [in,out] weight, PyTorch's default bound, x W + b") {
  Rng rng(3);
  nn::Linear lin(64, 10, rng);
  CHECK(lin.weight().rows() == 64);
  CHECK(lin.weight().cols() == 10);
  CHECK(lin.bias().rows() == 1);
  CHECK(lin.bias().cols() == 10);
  const double bound = 1.0 / 8.0;  // 1/sqrt(64)
  CHECK(lin.weight().value().cwiseAbs().maxCoeff() <= bound);
  CHECK(lin.weight().value().cwiseAbs().maxCoeff() > 0.9 * bound);  // fills the range
  CHECK(lin.bias().value().cwiseAbs().maxCoeff() <= bound);
  const Tensor x = random_tensor(5, 64, rng);
  const Var y = lin(Var(x));
  CHECK(y.rows() == 5);
  CHECK(y.cols() == 10);
  const Tensor expected = (x * lin.weight().value()).rowwise() + lin.bias().value().row(0);
  CHECK((y.value() - expected).cwiseAbs().maxCoeff() < 1e-5);
  CHECK_THROWS_AS(lin(Var(Tensor::Zero(2, 63))), std::invalid_argument);
  nn::Linear no_bias(4, 3, rng, false);
  CHECK(no_bias.num_parameters() == 12);
  CHECK(no_bias.extra_repr() == "in_features=4, out_features=3, bias=False");
}

TEST_CASE("LayerNorm: weight 1, bias 0, rows normalised with eps 1e-5") {
  nn::LayerNorm ln(4);
  CHECK(ln.weight().value() == Tensor::Ones(1, 4));
  CHECK(ln.bias().value() == Tensor::Zero(1, 4));
  Tensor x(1, 4);
  x << 1, 2, 3, 4;
  const Var y = ln(Var(x));
  const double var = 1.25;  // biased variance of 1..4
  for (int j = 0; j < 4; ++j)
    CHECK(y.value()(0, j) == doctest::Approx((x(0, j) - 2.5) / std::sqrt(var + 1e-5)).epsilon(1e-5));
}

TEST_CASE("Embedding: N(0, 1e-4) init, row lookup") {
  Rng rng(5);
  nn::Embedding emb(1000, 16, rng);
  const Tensor& w = emb.weight().value();
  const double mean = w.mean();
  const double std = std::sqrt((w.array() - mean).square().mean());
  CHECK(std::abs(mean) < 1e-5);
  CHECK(std == doctest::Approx(1e-4).epsilon(0.02));
  const Var y = emb.forward({3, 999, 3});
  CHECK(y.rows() == 3);
  CHECK(y.value().row(0) == w.row(3));
  CHECK(y.value().row(1) == w.row(999));
}

TEST_CASE("FeatureEmbedder: [emb_0 | emb_1 | ... | dense], errors name the feature") {
  data::Schema s;
  s.sparse = {{"user", 10}, {"item", 5}};
  s.dense = {"age", "price"};
  s.tasks = {"click"};
  s.domains = {"a"};
  Rng rng(9);
  nn::FeatureEmbedder emb(s, 4, rng);
  CHECK(emb.output_dim() == 2 * 4 + 2);
  CHECK(emb.has_parameter("embed_dict.user.weight"));
  CHECK(emb.has_parameter("embed_dict.item.weight"));
  data::Batch b;
  b.rows = 3;
  b.sparse_ids = {{0, 9, 4}, {4, 0, 2}};
  b.dense = Tensor(3, 2);
  b.dense << 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f;
  b.domain = {0, 0, 0};
  const Var x = emb.forward(b);
  REQUIRE(x.rows() == 3);
  REQUIRE(x.cols() == 10);
  CHECK(x.value().block(1, 0, 1, 4) == emb.table(0).weight().value().row(9));
  CHECK(x.value().block(2, 4, 1, 4) == emb.table(1).weight().value().row(2));
  CHECK(x.value().block(0, 8, 3, 2) == b.dense);

  b.sparse_ids[1][2] = 5;  // item vocab is 5
  try {
    emb.forward(b);
    FAIL("no error for an id outside the vocabulary");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("'item'") != std::string::npos);
    CHECK(msg.find("row 2") != std::string::npos);
  }
  b.sparse_ids.pop_back();
  CHECK_THROWS_AS(emb.forward(b), std::invalid_argument);
}

TEST_CASE("MLP, Gate and Tower: shapes, names, gates sum to 1") {
  Rng rng(11);
  nn::MLP mlp({8, 6, 3}, rng);
  CHECK(mlp.has_parameter("domain_specific.0.weight"));
  CHECK(mlp.has_parameter("domain_specific.4.bias"));  // the second LayerNorm
  const Var y = mlp(Var(random_tensor(7, 8, rng)));
  CHECK(y.rows() == 7);
  CHECK(y.cols() == 3);
  CHECK(y.value().minCoeff() >= 0);  // ends in ReLU
  CHECK_THROWS_AS(nn::MLP({8}, rng), std::invalid_argument);

  nn::Gate gate(8, 4, rng);
  CHECK(gate.has_parameter("0.weight"));
  const Var g = gate(Var(random_tensor(9, 8, rng)));
  CHECK(g.cols() == 4);
  for (Index i = 0; i < 9; ++i) CHECK(g.value().row(i).sum() == doctest::Approx(1.0).epsilon(1e-6));

  nn::Tower tower(8, rng);
  CHECK(tower.has_parameter("3.weight"));
  CHECK(tower.num_parameters() == 8 * 8 + 8 + 16 + 8 + 1);
  const Var t = tower(Var(random_tensor(9, 8, rng)));
  CHECK(t.rows() == 9);
  CHECK(t.cols() == 1);
}

TEST_CASE("StarDomainLayer: each row uses its own domain's weights") {
  Rng rng(13);
  const int D = 3;
  nn::StarDomainLayer star(5, 4, D, rng);
  CHECK(star.num_parameters() == (5 * 4 + 4) * (D + 1));
  // Non-zero biases so that the bias path is tested too.
  for (auto& [name, p] : star.named_parameters())
    if (name.find("bias") != std::string::npos) p.value() = random_tensor(1, 4, rng);
  const Tensor x = random_tensor(8, 5, rng);
  const IndexList domain = {2, 0, 0, 1, 2, 2, 0, 1};
  const auto rows = nn::group_rows_by_domain(domain, D);
  CHECK(rows[0] == IndexList{1, 2, 6});
  CHECK(rows[2] == IndexList{0, 4, 5});
  const Var f = star.forward(Var(x), rows);
  REQUIRE(f.rows() == 8);
  const Tensor& ws = star.parameter("shared_weight").value();
  const Tensor& bs = star.parameter("shared_bias").value();
  for (Index i = 0; i < 8; ++i) {
    const std::string d = std::to_string(domain[std::size_t(i)]);
    const Tensor w = star.parameter("slot_weight." + d).value().cwiseProduct(ws);
    const Tensor b = star.parameter("slot_bias." + d).value() + bs;
    const Tensor expected = x.row(i) * w + b;
    CHECK((f.value().row(i) - expected).cwiseAbs().maxCoeff() < 1e-5);
  }
  CHECK_THROWS_AS(nn::group_rows_by_domain({0, 3}, D), std::invalid_argument);
  // Xavier bound sqrt(6 / (5 + 4)).
  CHECK(ws.cwiseAbs().maxCoeff() <= std::sqrt(6.0 / 9.0));
}
