// Finite-difference check of the whole M3oE model's gradients, in the
// double-precision build (central differences accurate to ~1e-9).
//
// With N = 1 shared expert every gate is softmax of one logit = 1, whose
// derivative is 0, so the stop-gradient on the gates' input changes nothing
// and the analytic gradient must equal the finite difference for EVERY
// parameter. With N = 2 the gates vary; the finite difference then also
// sees the path through the gates into h, which the model cuts on purpose
// (the authors' emb.detach()), so upstream parameters must differ there.
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"
#include "model_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace m3oe;

static_assert(sizeof(real) == 8, "this test is built against the double library (m3oe_f64)");

namespace {
M3oEConfig tiny(int N) {
  M3oEConfig c = M3oEConfig::from_schema(testing::small_schema(2, 2));
  c.embedding_dim = 2;
  c.fcn_dims = {6, 5, 5, 3};
  c.num_shared_experts = N;
  return c;
}

double loss_value(const M3oE& m, const data::Batch& b) {
  NoGradGuard g;
  return m3oe_loss(m.forward(b).probs, b, 2, 2).item();
}

// max over entries |analytic - numeric| / max(1, |numeric|) for one parameter.
double worst_error(const M3oE& m, const data::Batch& b, Var p) {
  double worst = 0;
  const double h = 1e-6;
  for (Index i = 0; i < p.value().size(); ++i) {
    real& w = p.value().data()[i];
    const real saved = w;
    w = saved + h;
    const double up = loss_value(m, b);
    w = saved - h;
    const double down = loss_value(m, b);
    w = saved;
    const double numeric = (up - down) / (2 * h);
    const double analytic = p.grad().data()[i];
    worst = std::max(worst, std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric)));
  }
  return worst;
}
}  // namespace

TEST_CASE("M3oE gradients equal central finite differences (N = 1)") {
  Rng rng(21);
  M3oE model(tiny(1), rng);
  const data::Batch b = testing::random_batch(model.config().schema, 16, rng);
  m3oe_loss(model.forward(b).probs, b, 2, 2).backward();
  for (auto& [name, p] : model.named_parameters()) {
    const double err = worst_error(model, b, p);
    CHECK_MESSAGE(err < 1e-6, name << ": worst error " << err);
  }
}

TEST_CASE("the gates read a detached h: no gradient flows from gates into h (N = 2)") {
  Rng rng(22);
  M3oE model(tiny(2), rng);
  const data::Batch b = testing::random_batch(model.config().schema, 16, rng);
  m3oe_loss(model.forward(b).probs, b, 2, 2).backward();
  // Downstream of h: exact.
  for (const char* n : {"gate.0.0.weight", "gate.3.0.bias", "expert.1.domain_specific.0.weight",
                        "tower.2.0.weight", "e_exp_t", "e_bal_d"})
    CHECK_MESSAGE(worst_error(model, b, model.parameter(n)) < 1e-6, n);
  // Upstream of h: the finite difference includes the cut path, so it differs.
  CHECK(worst_error(model, b, model.parameter("skip_conn.domain_specific.0.weight")) > 1e-5);
}
