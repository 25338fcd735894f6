// Finite-difference check of the whole M3oE model's gradients, in the
// double-precision build (central differences accurate to ~1e-9).
//
// With N = 1 shared expert every gate is softmax of one logit = 1, whose
// derivative is 0, so the stop-gradient on the gates' input changes nothing
// and the analytic gradient must equal the finite difference for EVERY
// parameter. With N = 2 the gates vary; the finite difference then also
// sees the path through the gates into h, which the model cuts on purpose
// (the authors' emb.detach()), so upstream parameters must differ there.
#include "autograd/gradcheck.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"
#include "model_fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

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

// The library's checker (autograd/gradcheck.hpp) on the model's loss, for
// every parameter: h = 1e-6, the loss itself as L (no output weights), and
// errors measured as |analytic - numeric| / max(1, |numeric|) (atol = rtol).
GradcheckResult check_params(const M3oE& m, const data::Batch& b, double tol) {
  GradcheckOptions o;
  o.atol = o.rtol = tol;
  o.random_output_weights = false;
  return gradcheck([&] { return m3oe_loss(m.forward(b).probs, b, 2, 2); }, m.parameters(), o);
}

// max over entries |analytic - numeric| / max(1, |numeric|) of parameter `name`.
double worst_error(const M3oE& m, const GradcheckResult& r, const std::string& name) {
  const nn::NamedParameters params = m.named_parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    if (params[k].first == name) {
      const GradcheckEntry& e = r.worst_per_input.at(k);
      REQUIRE(e.checked);
      return e.abs_error / std::max(1.0, std::abs(e.numeric));
    }
  FAIL("no parameter " << name);
  return 0;
}
}  // namespace

TEST_CASE("M3oE gradients equal central finite differences (N = 1)") {
  Rng rng(21);
  M3oE model(tiny(1), rng);
  const data::Batch b = testing::random_batch(model.config().schema, 16, rng);
  const GradcheckResult r = check_params(model, b, 1e-6);
  CHECK_MESSAGE(r.passed, r.report());
  for (auto& [name, p] : model.named_parameters()) {
    const double err = worst_error(model, r, name);
    CHECK_MESSAGE(err <= 1e-6, name << ": worst error " << err);
  }
}

TEST_CASE("the gates read a detached h: no gradient flows from gates into h (N = 2)") {
  Rng rng(22);
  M3oE model(tiny(2), rng);
  const data::Batch b = testing::random_batch(model.config().schema, 16, rng);
  const GradcheckResult r = check_params(model, b, 1e-6);
  // Downstream of h: exact.
  for (const char* n : {"gate.0.0.weight", "gate.3.0.bias", "expert.1.domain_specific.0.weight",
                        "tower.2.0.weight", "e_exp_t", "e_bal_d"})
    CHECK_MESSAGE(worst_error(model, r, n) <= 1e-6, n);
  // Upstream of h: the finite difference includes the cut path, so it differs.
  CHECK(worst_error(model, r, "skip_conn.domain_specific.0.weight") > 1e-5);
  CHECK_FALSE(r.passed);
}
