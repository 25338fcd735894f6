// Finite-difference check of every baseline's gradients, in the
// double-precision build (central differences accurate to ~1e-9). For each
// parameter tensor a fixed sample of entries is checked, so the test stays
// fast while every tensor of every model is covered.
#include "autograd/ops.hpp"
#include "baseline_fixtures.hpp"
#include "m3oe/baselines/m3oe_variants.hpp"
#include "m3oe/loss.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace m3oe;

static_assert(sizeof(real) == 8, "this test is built against the double library (m3oe_f64)");

namespace {

double loss_value(const RecModel& m, const data::Batch& b) {
  NoGradGuard g;
  return m3oe_loss(m.forward(b).probs, b, m.num_domains(), m.num_tasks()).item();
}

// Worst |analytic - numeric| / max(1, |numeric|) over up to `samples`
// entries of p (evenly spread).
double worst_error(const RecModel& m, const data::Batch& b, Var p, Index samples = 12) {
  double worst = 0;
  const double h = 1e-6;
  const Index n = p.value().size();
  const Index step = std::max<Index>(1, n / samples);
  for (Index i = 0; i < n; i += step) {
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

void check_model(RecModel& model, const data::Batch& b, const std::string& label) {
  model.zero_grad();
  m3oe_loss(model.forward(b).probs, b, model.num_domains(), model.num_tasks()).backward();
  int checked = 0;
  for (auto& [name, p] : model.named_parameters()) {
    if (!p.requires_grad()) continue;  // STAR's moving averages
    const double err = worst_error(model, b, p);
    CHECK_MESSAGE(err < 1e-6, label << " " << name << ": worst error " << err);
    ++checked;
  }
  CHECK_MESSAGE(checked > 0, label);
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
