// Every baseline learns the synthetic multi-domain multi-task data beyond
// chance: a few hundred Adam steps, then the test AUC of every cell. A model
// whose gradients or routing were broken stays at AUC 0.5 and fails.
#include "baseline_fixtures.hpp"
#include "m3oe/data/synthetic.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/train/trainer.hpp"
#include "optim/adam.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

using namespace m3oe;

namespace {

baselines::BaselineConfig small_baseline(const data::Schema& s) {
  baselines::BaselineConfig c = testing::tiny_baseline(s);
  c.embedding_dim = 4;
  c.hidden = {32, 16};
  c.repr_dim = 8;
  c.meta_dim = 4;
  c.star_aux_hidden = 8;
  return c;
}

M3oEConfig small_m3oe(const data::Schema& s) {
  M3oEConfig c = M3oEConfig::from_schema(s);
  c.embedding_dim = 4;
  c.fcn_dims = {32, 16, 16, 8};
  return c;
}

}  // namespace

TEST_CASE("every baseline learns the synthetic data beyond chance") {
  data::SyntheticOptions o;
  o.rows = 20000;
  o.seed = 5;
  const data::Splits splits = data::make_synthetic(o);
  const data::Dataset& train = splits.train;
  const std::int64_t batch = 128;
  const int steps = 240;
  for (const std::string& name : testing::baseline_names()) {
    CAPTURE(name);
    Rng rng(11);
    auto model = baselines::make_model(name, small_m3oe(train.schema), small_baseline(train.schema), rng);
    std::vector<Var> params = model->weight_parameters();
    for (const Var& p : model->structure_parameters()) params.push_back(p);
    optim::Adam adam(params, 1e-2, 1e-5);
    std::vector<std::int64_t> order(static_cast<std::size_t>(train.rows));
    std::iota(order.begin(), order.end(), 0);
    Rng shuffle(12);
    data::Batch b;
    for (int step = 0, pos = 0; step < steps; ++step, pos += batch) {
      if (pos + batch > train.rows) {
        shuffle.shuffle(std::span<std::int64_t>(order));
        pos = 0;
      }
      data::make_batch(train, std::span(order).subspan(std::size_t(pos), std::size_t(batch)), b);
      model->zero_grad();
      m3oe_loss(model->forward(b).probs, b, model->num_domains(), model->num_tasks()).backward();
      adam.step();
    }
    model->eval();
    const metrics::Evaluation e = train::evaluate(*model, splits.test, 4096);
    REQUIRE(e.mean_auc.has_value());
    double worst = 1;
    for (const auto& c : e.cells) {
      REQUIRE(c.auc.has_value());
      worst = std::min(worst, *c.auc);
    }
    MESSAGE(name << ": test mean AUC " << *e.mean_auc << ", worst cell " << worst);
    CHECK(*e.mean_auc > 0.65);
    CHECK(worst > 0.52);
  }
}
