// M3oE: parameter counts and names, forward shapes, routing by domain,
// the fusion rules (D = 1, T = 1), ablations, fixed weights, the loss.
#include "autograd/ops.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"
#include "model_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <stdexcept>

using namespace m3oe;
using testing::random_batch;
using testing::small_schema;

namespace {
M3oEConfig small_config(int D, int T, int N = 3) {
  M3oEConfig c = M3oEConfig::from_schema(small_schema(D, T));
  c.embedding_dim = 4;
  c.fcn_dims = {12, 10, 10, 6};
  c.num_shared_experts = N;
  return c;
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return (a - b).cwiseAbs().maxCoeff(); }

std::set<std::string> names_of(const nn::Module& m) {
  std::set<std::string> s;
  for (auto& [n, p] : m.named_parameters()) s.insert(n);
  return s;
}

// Copies every parameter of `from` that `to` also has.
void copy_shared(const nn::Module& from, nn::Module& to) {
  for (auto& [n, p] : to.named_parameters())
    if (from.has_parameter(n)) {
      Var v = p;
      v.value() = from.parameter(n).value();
    }
}
}  // namespace

TEST_CASE("ML-1M configuration: 788,146 parameters with N = 4, 733,792 with N = 1") {
  M3oEConfig c = M3oEConfig::from_schema(ml1m_reference_schema());
  CHECK(c.input_dim() == 113);
  Rng rng(2022);
  M3oE model(c, rng);
  CHECK(model.num_parameters() == 788146);
  CHECK(model.num_parameters(true) == 788146);
  CHECK(model.structure_parameters().size() == 4);
  CHECK(model.weight_parameters().size() + 4 == model.named_parameters().size());

  c.num_shared_experts = 1;
  Rng rng1(2022);
  CHECK(M3oE(c, rng1).num_parameters() == 733792);
}

TEST_CASE("parameter names follow the PyTorch script, structure weights first") {
  Rng rng(1);
  M3oE model(M3oEConfig::from_schema(ml1m_reference_schema()), rng);
  const auto named = model.named_parameters();
  CHECK(named[0].first == "e_exp_d");
  CHECK(named[1].first == "e_exp_t");
  CHECK(named[2].first == "e_bal_d");
  CHECK(named[3].first == "e_bal_t");
  CHECK(named[4].first == "embedding.embed_dict.user_id.weight");
  for (const char* n : {"star.shared_weight", "star.shared_bias", "star.slot_weight.2",
                        "star.slot_bias.0", "star_mlp.domain_specific.0.weight",
                        "skip_conn.domain_specific.1.bias", "expert.3.domain_specific.0.weight",
                        "domain_expert.2.domain_specific.1.weight",
                        "task_expert.1.domain_specific.0.bias", "gate.5.0.weight",
                        "tower.5.0.weight", "tower.5.1.weight", "tower.5.3.bias"})
    CHECK_MESSAGE(model.has_parameter(n), n);
  CHECK(model.parameter("star.shared_weight").rows() == 113);
  CHECK(model.parameter("star.shared_weight").cols() == 512);
  CHECK(model.parameter("gate.0.0.weight").cols() == 4);
  CHECK(model.parameter("e_exp_d").item() == doctest::Approx(1.0));
  const FusionWeights fw = model.fusion_weights();
  CHECK(fw.alpha_d == doctest::Approx(1 / (1 + std::exp(-1.0))));
  CHECK(fw.beta_t == doctest::Approx(0.7310586));
}

TEST_CASE("forward shapes for D=1,T=1 and D=3,T=2; probabilities and gates") {
  for (auto [D, T] : {std::pair{1, 1}, std::pair{3, 2}}) {
    CAPTURE(D);
    CAPTURE(T);
    Rng rng(7);
    M3oE model(small_config(D, T), rng);
    const data::Batch b = random_batch(model.config().schema, 40, rng);
    const M3oEOutput out = model.forward(b);
    REQUIRE(out.logits.rows() == 40);
    REQUIRE(out.logits.cols() == T);
    REQUIRE(out.probs.cols() == T);
    const Tensor sig = (1 + (-out.logits.value().array()).exp()).inverse().matrix();
    CHECK(max_abs_diff(out.probs.value(), sig) < 1e-6);
    CHECK(out.probs.value().minCoeff() > 0);
    CHECK(out.probs.value().maxCoeff() < 1);
    REQUIRE(out.gates.size() == std::size_t(T));
    for (const Tensor& g : out.gates) {
      REQUIRE(g.rows() == 40);
      REQUIRE(g.cols() == 3);
      CHECK(g.minCoeff() >= 0);
      for (Index i = 0; i < 40; ++i) CHECK(g.row(i).sum() == doctest::Approx(1.0).epsilon(1e-5));
    }
    REQUIRE(out.rows_by_domain.size() == std::size_t(D));
    std::size_t total = 0;
    for (const auto& r : out.rows_by_domain) total += r.size();
    CHECK(total == 40);
  }
}

TEST_CASE("routing by domain: a row's output does not depend on the other rows") {
  Rng rng(8);
  M3oE model(small_config(3, 2), rng);
  const data::Batch b = random_batch(model.config().schema, 30, rng);
  const M3oEOutput all = model.forward(b);
  // A reordered subset with domains mixed differently.
  const IndexList pick = {29, 3, 17, 0, 8, 21, 12};
  const M3oEOutput part = model.forward(testing::subset(b, pick));
  for (std::size_t k = 0; k < pick.size(); ++k) {
    CHECK(max_abs_diff(part.probs.value().row(Index(k)), all.probs.value().row(pick[k])) < 1e-6);
    CHECK(max_abs_diff(part.gates[1].row(Index(k)), all.gates[1].row(pick[k])) < 1e-6);
  }
  // Single-domain batch (the gather/scatter shortcut) gives the same rows.
  const IndexList d0 = all.rows_by_domain[0];
  const M3oEOutput only0 = model.forward(testing::subset(b, d0));
  for (std::size_t k = 0; k < d0.size(); ++k)
    CHECK(max_abs_diff(only0.logits.value().row(Index(k)), all.logits.value().row(d0[k])) < 1e-6);
}

TEST_CASE("cell (d,t) uses gate and tower t*D+d, only on rows of domain d") {
  Rng rng(9);
  const int D = 3, T = 2;
  M3oE model(small_config(D, T), rng);
  const data::Batch b = random_batch(model.config().schema, 36, rng);
  const Tensor before = model.forward(b).logits.value();
  const int d = 1, t = 1;
  Var bias = model.parameter("tower." + std::to_string(t * D + d) + ".3.bias");
  bias.value()(0, 0) += 0.5f;
  const Tensor after = model.forward(b).logits.value();
  for (Index i = 0; i < 36; ++i)
    for (Index c = 0; c < T; ++c) {
      const bool mine = b.domain[std::size_t(i)] == d && c == t;
      CHECK(after(i, c) - before(i, c) == doctest::Approx(mine ? 0.5 : 0.0).epsilon(1e-4));
    }
}

TEST_CASE("D = 1 and T = 1: the single domain/task expert is used alone") {
  // With no other expert, beta has no role: changing e_bal_d (D = 1) or
  // e_bal_t (T = 1) leaves the outputs unchanged and gives it no gradient.
  Rng rng(10);
  M3oE model(small_config(1, 1), rng);
  const data::Batch b = random_batch(model.config().schema, 20, rng);
  const Tensor before = model.forward(b).probs.value();
  model.parameter("e_bal_d").value()(0, 0) = -3;
  model.parameter("e_bal_t").value()(0, 0) = 5;
  const M3oEOutput out = model.forward(b);
  CHECK(max_abs_diff(out.probs.value(), before) == 0);
  m3oe_loss(out.probs, b, 1, 1).backward();
  CHECK(model.parameter("e_exp_d").grad().norm() > 0);
  CHECK(model.parameter("e_bal_d").grad().norm() == 0);
  CHECK(model.parameter("e_bal_t").grad().norm() == 0);

  // With D = 3, T = 2 the balance weights matter.
  Rng rng3(10);
  M3oE m3(small_config(3, 2), rng3);
  const data::Batch b3 = random_batch(m3.config().schema, 20, rng3);
  const Tensor p0 = m3.forward(b3).probs.value();
  m3.parameter("e_bal_d").value()(0, 0) = -3;
  CHECK(max_abs_diff(m3.forward(b3).probs.value(), p0) > 1e-5);
}

TEST_CASE("ablations remove their experts and weights; alpha -> 0 reproduces them") {
  const int D = 3, T = 2;
  Rng rng(11);
  M3oE full(small_config(D, T), rng);
  const data::Batch b = random_batch(full.config().schema, 30, rng);
  const Index expert_params = 10 * 6 + 6 + 2 * 6;  // Linear 10->6, LayerNorm 6

  struct Case {
    bool domain, task;
    std::vector<std::string> gone;
    Index fewer;
  };
  const std::vector<Case> cases = {
      {false, true, {"e_exp_d", "e_bal_d", "domain_expert.0.domain_specific.0.weight"}, D * expert_params + 2},
      {true, false, {"e_exp_t", "e_bal_t", "task_expert.1.domain_specific.0.weight"}, T * expert_params + 2},
      {false, false, {"e_exp_d", "e_exp_t", "e_bal_d", "e_bal_t"}, (D + T) * expert_params + 4},
  };
  for (const Case& c : cases) {
    CAPTURE(c.domain);
    CAPTURE(c.task);
    M3oEConfig cfg = small_config(D, T);
    cfg.use_domain_module = c.domain;
    cfg.use_task_module = c.task;
    Rng r(12);
    M3oE ablated(cfg, r);
    CHECK(ablated.num_parameters() == full.num_parameters() - c.fewer);
    const auto names = names_of(ablated);
    for (const auto& g : c.gone) CHECK_MESSAGE(!names.count(g), g);
    for (const auto& n : names) CHECK_MESSAGE(full.has_parameter(n), n);
    CHECK(ablated.structure_parameters().size() == std::size_t(2 * (c.domain + c.task)));

    // The full model with the removed modules' alpha driven to 0 computes the
    // same function as the ablated one with the same weights.
    M3oE ref(small_config(D, T), r);
    copy_shared(full, ref);
    if (!c.domain) ref.parameter("e_exp_d").value()(0, 0) = -200;
    if (!c.task) ref.parameter("e_exp_t").value()(0, 0) = -200;
    copy_shared(ref, ablated);
    const Tensor pa = ablated.forward(b).probs.value();
    CHECK(max_abs_diff(ref.forward(b).probs.value(), pa) < 1e-6);
    CHECK(max_abs_diff(full.forward(b).probs.value(), pa) > 1e-5);
    const FusionWeights fw = ablated.fusion_weights();
    CHECK((fw.alpha_d == 0) == !c.domain);
    CHECK((fw.alpha_t == 0) == !c.task);
  }
}

TEST_CASE("fixed fusion weights: no structure parameters; 0.5 equals raw 0 learned") {
  M3oEConfig cfg = small_config(3, 2);
  cfg.fusion_mode = FusionMode::fixed;
  cfg.fixed_weight = 0.5;
  Rng rng(13);
  M3oE fixed(cfg, rng);
  CHECK(fixed.structure_parameters().empty());
  CHECK(fixed.weight_parameters().size() == fixed.named_parameters().size());
  const FusionWeights fw = fixed.fusion_weights();
  CHECK(fw.alpha_d == 0.5f);
  CHECK(fw.alpha_t == 0.5f);
  CHECK(fw.beta_d == 0.5f);
  CHECK(fw.beta_t == 0.5f);

  M3oEConfig lc = small_config(3, 2);
  lc.init_exp_d = lc.init_exp_t = lc.init_bal_d = lc.init_bal_t = 0;  // sigmoid(0) = 0.5
  Rng rng2(14);
  M3oE learned(lc, rng2);
  CHECK(learned.num_parameters() == fixed.num_parameters() + 4);
  copy_shared(fixed, learned);
  const data::Batch b = random_batch(cfg.schema, 25, rng);
  CHECK(max_abs_diff(fixed.forward(b).probs.value(), learned.forward(b).probs.value()) < 1e-6);

  cfg.fixed_weight = 1.5;
  Rng rng3(1);
  CHECK_THROWS_AS(M3oE(cfg, rng3), std::invalid_argument);
}

TEST_CASE("m3oe_loss = sum over (d,t) of the mean BCE over domain d's rows") {
  const int D = 3, T = 2;
  Rng rng(15);
  M3oE model(small_config(D, T), rng);
  data::Batch b = random_batch(model.config().schema, 24, rng);
  for (auto& d : b.domain) d = d == 1 ? 2 : d;  // domain 1 absent: skipped
  const M3oEOutput out = model.forward(b);
  const Var loss = m3oe_loss(out.probs, b, D, T);
  double expected = 0;
  for (int d = 0; d < D; ++d)
    for (int t = 0; t < T; ++t) {
      double sum = 0;
      int n = 0;
      for (Index i = 0; i < b.rows; ++i) {
        if (b.domain[std::size_t(i)] != d) continue;
        const double p = out.probs.value()(i, t), y = b.labels(i, t);
        sum += -(y * std::log(p) + (1 - y) * std::log(1 - p));
        ++n;
      }
      if (n > 0) expected += sum / n;
    }
  CHECK(loss.item() == doctest::Approx(expected).epsilon(1e-5));
  CHECK(m3oe_loss_with_logits(out.logits, b, D, T).item() == doctest::Approx(expected).epsilon(1e-5));
  loss.backward();
  // The towers of the absent domain get no gradient, the others do.
  CHECK_FALSE(model.parameter("tower.1.3.bias").has_grad());
  CHECK(model.parameter("tower.0.3.bias").grad().norm() > 0);
  CHECK(model.parameter("gate.2.0.weight").grad().norm() > 0);

  data::Batch bad = b;
  bad.labels = Tensor::Zero(24, 1);
  CHECK_THROWS_AS(m3oe_loss(out.probs, bad, D, T), std::invalid_argument);
}

TEST_CASE("bad batches throw clear errors") {
  Rng rng(16);
  M3oE model(small_config(2, 1), rng);
  data::Batch b = random_batch(model.config().schema, 5, rng);
  b.domain[3] = 2;
  try {
    model.forward(b);
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("row 3") != std::string::npos);
  }
  data::Batch empty;
  CHECK_THROWS_AS(model.forward(empty), std::invalid_argument);
  M3oEConfig c = small_config(2, 1);
  c.fcn_dims = {12, 10, 8, 6};
  Rng r(1);
  CHECK_THROWS_AS(M3oE(c, r), std::invalid_argument);
}
