// Finite-difference check of every baseline's gradients, in the
// double-precision build (central differences accurate to ~1e-9). For each
// parameter tensor a fixed sample of entries is checked, so the test stays
// fast while every tensor of every model is covered.
#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "baseline_fixtures.hpp"
#include "m3oe/baselines/m3oe_variants.hpp"
#include "m3oe/loss.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace m3oe;

static_assert(sizeof(real) == 8, "this test is built against the double library (m3oe_f64)");

namespace {

// The library's checker (autograd/gradcheck.hpp) on the model's loss: for
// each parameter tensor up to 12 entries, evenly spread; h = 1e-6; the loss
// itself as L; |analytic - numeric| <= 1e-6 max(1, |numeric|). Parameters
// that do not require grad (STAR's moving averages) are skipped.
void check_model(RecModel& model, const data::Batch& b, const std::string& label) {
  GradcheckOptions o;
  o.atol = o.rtol = 1e-6;
  o.random_output_weights = false;
  o.max_entries_per_input = 12;
  const GradcheckResult r = gradcheck(
      [&] { return m3oe_loss(model.forward(b).probs, b, model.num_domains(), model.num_tasks()); },
      model.parameters(), o);
  CHECK_MESSAGE(r.passed, label << ": " << r.report());
  CHECK_MESSAGE(r.checked > 0, label);
}

}  // namespace

TEST_CASE("every baseline's gradients equal central finite differences") {
  const data::Schema s = testing::small_schema(3, 2);
  for (const std::string& name : testing::baseline_names()) {
    if (name == "m3oe-concat" || name == "m3oe-gated") continue;  // below, without the detach
    CAPTURE(name);
    Rng rng(31);
    auto model = testing::tiny_model(name, s, rng);
    const data::Batch b = testing::random_batch(s, 14, rng);
    check_model(*model, b, name);
  }
}

TEST_CASE("the M3oE variants' gradients equal finite differences (gates reading h itself)") {
  // With the gates reading a detached h (the default), the finite difference
  // also sees the gates' path into h, which the model cuts on purpose; so
  // the check runs with detach off, where every parameter must agree.
  const data::Schema s = testing::small_schema(3, 2);
  for (auto kind : {baselines::M3oEVariantKind::concat, baselines::M3oEVariantKind::gated}) {
    Rng rng(32);
    baselines::M3oEVariant model(testing::tiny_m3oe(s), kind, rng, /*detach_gate_input=*/false);
    const data::Batch b = testing::random_batch(s, 14, rng);
    check_model(model, b, model.type_name());
  }
}

TEST_CASE("STAR in eval mode: gradients through the moving-average normalisation") {
  const data::Schema s = testing::small_schema(2, 2);
  Rng rng(33);
  auto model = testing::tiny_model("star", s, rng);
  {  // a few training-mode passes move the averages away from (0, 1)
    for (int i = 0; i < 3; ++i) {
      NoGradGuard g;
      model->forward(testing::random_batch(s, 10, rng));
    }
  }
  model->eval();
  check_model(*model, testing::random_batch(s, 12, rng), "star (eval)");
}
