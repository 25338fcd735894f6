// train_m3oe: M3oE trained on the synthetic data through the library API.
//
// Teaches: the four pieces of a training run and how they fit, written out
// by hand instead of calling `m3oe train` (m3oe/train/trainer.cpp's
// train_run does the same, plus checkpoints, early stopping and logs):
//   1. data       data::make_synthetic -> train / valid / test Datasets,
//                 data::make_batch gathers rows into the Batch the model reads
//   2. model      M3oEConfig (sizes, from the data's schema) -> M3oE
//   3. optimizer  optim::Adam over the model's parameters, in two groups:
//                 the weights and the four AutoML fusion weights (the
//                 authors' "official" mode trains both in one Adam)
//   4. loop       zero_grad -> forward -> m3oe_loss (paper Eq. 12) ->
//                 backward -> step; then train::evaluate's per-(domain,
//                 task) AUC and log loss (metrics::format_evaluation)
// The synthetic data has a shared signal, one per domain and one per task
// (docs/data.md), so every cell can be learned well beyond chance.
//
//   ./build/examples/train_m3oe           20,000 rows, 3 epochs: a few seconds
//   ./build/examples/train_m3oe --quick   8,000 rows, 2 epochs (the CI test)
// Exits with 1 if the test mean AUC is not above 0.6.
#include "autograd/ops.hpp"
#include "m3oe/data/synthetic.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/metrics.hpp"
#include "m3oe/model.hpp"
#include "autograd/rng.hpp"
#include "m3oe/train/trainer.hpp"
#include "optim/adam.hpp"

#include <chrono>
#include <cstdio>
#include <numeric>
#include <span>
#include <string>
#include <vector>

using namespace m3oe;

int main(int argc, char** argv) {
  std::int64_t rows = 20000;
  int epochs = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      rows = 8000;
      epochs = 2;
    } else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }

  // 1. Data: 3 domains x 2 tasks, split 80/10/10.
  data::SyntheticOptions data_options;
  data_options.rows = rows;
  data_options.seed = 2022;
  const data::Splits splits = data::make_synthetic(data_options);
  const data::Dataset& train = splits.train;
  const data::Schema& schema = train.schema;
  std::printf("data: %s; %lld train / %lld valid / %lld test rows\n", splits.description.c_str(),
              static_cast<long long>(train.rows), static_cast<long long>(splits.valid.rows),
              static_cast<long long>(splits.test.rows));

  // 2. Model: the default M3oE for this schema, narrower than the paper's
  //    [512, 256, 256, 64] so that it trains in seconds.
  M3oEConfig config = M3oEConfig::from_schema(schema);
  config.embedding_dim = 8;
  config.fcn_dims = {128, 64, 64, 32};  // STAR out, hidden h, expert in (= h), expert out
  config.num_shared_experts = 4;
  Rng rng(2022);
  M3oE model(config, rng);
  std::printf("model: M3oE, %s parameters\n", nn::with_commas(model.num_parameters()).c_str());

  // 3. Optimizer: Adam, lr 1e-2 and weight decay 1e-5 (the official script's).
  const int D = model.num_domains(), T = model.num_tasks();
  optim::Adam opt({{model.weight_parameters(), 1e-2, 1e-5, "weights"},
                   {model.structure_parameters(), 1e-2, 1e-5, "structure"}});

  // 4. The loop, in batches of 1,024 shuffled rows.
  const std::int64_t batch = 1024;
  std::vector<std::int64_t> order(static_cast<std::size_t>(train.rows));
  std::iota(order.begin(), order.end(), 0);
  data::Batch b;
  std::printf("\nepoch  train loss  valid mean AUC  alpha_d alpha_t beta_d beta_t  seconds\n");
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    rng.shuffle(std::span<std::int64_t>(order));
    double loss_sum = 0;
    int steps = 0;
    for (std::int64_t start = 0; start < train.rows; start += batch, ++steps) {
      const std::int64_t n = std::min(batch, train.rows - start);
      data::make_batch(train, std::span(order).subspan(static_cast<std::size_t>(start),
                                                       static_cast<std::size_t>(n)), b);
      opt.zero_grad();
      const ModelOutput out = model.forward(b);           // probs [n,T]
      const Var loss = m3oe_loss(out.probs, b, D, T);     // sum over (domain, task) cells of mean BCE
      loss.backward();
      opt.step();
      loss_sum += loss.item();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Validation: train::evaluate predicts without a graph and scores every
    // cell. eval() / train() switch layers that behave differently (M3oE has
    // none; some baselines do), as in PyTorch.
    model.eval();
    const metrics::Evaluation valid = train::evaluate(model, splits.valid, 40960);
    model.train();
    const FusionWeights w = model.fusion_weights();
    std::printf("%5d  %10.4f  %14.4f  %7.3f %7.3f %6.3f %6.3f  %7.2f\n", epoch, loss_sum / steps,
                valid.mean_auc.value_or(0), double(w.alpha_d), double(w.alpha_t), double(w.beta_d),
                double(w.beta_t), secs);
  }

  // The test split, cell by cell.
  model.eval();
  const metrics::Evaluation test = train::evaluate(model, splits.test, 40960);
  std::printf("\ntest:\n%s", metrics::format_evaluation(test).c_str());
  const double auc = test.mean_auc.value_or(0);
  std::printf("test mean AUC %.4f (%s: > 0.6)\n", auc, auc > 0.6 ? "ok" : "FAILED");
  return auc > 0.6 ? 0 : 1;
}
