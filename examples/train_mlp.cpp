// train_mlp: modules + an optimizer, the training loop of every PyTorch tutorial.
//
// Teaches: building a network from nn modules (Sequential, Linear, ReLU),
// handing its parameters to optim::Adam, and the canonical loop
//     zero_grad -> forward -> loss -> backward -> step
// on mini-batches, then measuring accuracy with gradients off.
//
// The toy problem is "two moons": two interleaved half circles in the plane,
// one per class, which no straight line separates (so a logistic regression
// like autograd_tour's cannot get them all); a small MLP gets nearly all.
//
//   ./build/examples/train_mlp               60 epochs, under a second
//   ./build/examples/train_mlp --epochs 10   fewer epochs
// Exits with 1 if the test accuracy is below 90%.
#include "autograd/ops.hpp"
#include "layers/containers.hpp"
#include "layers/linear.hpp"
#include "autograd/rng.hpp"
#include "optim/adam.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <span>
#include <string>
#include <vector>

using namespace m3oe;

namespace {

// n points of the two moons: x [n,2], y [n,1] with labels 0/1.
//   class 0: (cos t, sin t)              t in [0, pi]   (the upper arc)
//   class 1: (1 - cos t, 0.5 - sin t)                   (the lower arc, shifted)
// plus Gaussian noise of standard deviation `noise` on both coordinates.
struct Points {
  Tensor x, y;
};
Points two_moons(Index n, double noise, Rng& rng) {
  const double pi = std::acos(-1.0);
  Points p{Tensor(n, 2), Tensor(n, 1)};
  for (Index i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % 2);
    const double t = rng.uniform(0, pi);
    const double a = label == 0 ? std::cos(t) : 1 - std::cos(t);
    const double b = label == 0 ? std::sin(t) : 0.5 - std::sin(t);
    p.x(i, 0) = static_cast<real>(a + noise * rng.normal());
    p.x(i, 1) = static_cast<real>(b + noise * rng.normal());
    p.y(i, 0) = static_cast<real>(label);
  }
  return p;
}

// The rows `ids` of a tensor (a mini-batch).
Tensor take(const Tensor& t, std::span<const std::int64_t> ids) {
  Tensor out(static_cast<Index>(ids.size()), t.cols());
  for (std::size_t i = 0; i < ids.size(); ++i) out.row(static_cast<Index>(i)) = t.row(ids[i]);
  return out;
}

// Fraction of rows where (logit > 0) matches the 0/1 label.
double accuracy(nn::Sequential& model, const Points& data) {
  NoGradGuard no_grad;  // evaluation: no graph is recorded
  model.eval();
  const Tensor logits = model(Var(data.x)).value();
  model.train();
  Index right = 0;
  for (Index i = 0; i < logits.rows(); ++i) right += (logits(i, 0) > 0) == (data.y(i, 0) > 0.5f);
  return double(right) / double(logits.rows());
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 60;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--epochs" && i + 1 < argc) {
      epochs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--epochs N]\n", argv[0]);
      return 2;
    }
  }

  // 1. Data: 1,000 training points and 1,000 test points from the same moons.
  Rng rng(7);
  const Points train = two_moons(1000, 0.15, rng);
  const Points test = two_moons(1000, 0.15, rng);

  // 2. The model: 2 -> 32 -> 32 -> 1, ReLU between. The last layer gives one
  //    logit per point; the sigmoid is inside the loss (bce_with_logits), the
  //    numerically stable form. Printing a module shows its tree.
  nn::Sequential model;
  model.append(std::make_unique<nn::Linear>(2, 32, rng));
  model.append(std::make_unique<nn::ReLU>());
  model.append(std::make_unique<nn::Linear>(32, 32, rng));
  model.append(std::make_unique<nn::ReLU>());
  model.append(std::make_unique<nn::Linear>(32, 1, rng));
  std::fputs(model.to_string().c_str(), stdout);

  // 3. The optimizer holds (handles to) the parameters and updates them in
  //    place; Adam with learning rate 0.01, no weight decay.
  optim::Adam opt(model.parameters(), 0.01);

  // 4. The loop: shuffle, then for each mini-batch of 50 points
  //    zero_grad -> forward -> loss -> backward -> step.
  const std::int64_t batch = 50;
  std::vector<std::int64_t> order(static_cast<std::size_t>(train.x.rows()));
  std::iota(order.begin(), order.end(), 0);
  std::printf("\nepoch  train loss  test accuracy\n");
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    rng.shuffle(std::span<std::int64_t>(order));
    double loss_sum = 0;
    int steps = 0;
    for (std::size_t start = 0; start < order.size(); start += batch, ++steps) {
      const auto ids = std::span(order).subspan(start, std::min<std::size_t>(batch, order.size() - start));
      const Tensor xb = take(train.x, ids), yb = take(train.y, ids);
      opt.zero_grad();                      // gradients accumulate: forget the last step's
      const Var logits = model(Var(xb));    // forward: records the graph
      const Var loss = bce_with_logits(logits, yb);  // [1,1], mean over the batch
      loss.backward();                      // dloss/dparameter into every parameter's grad
      opt.step();                           // p -= Adam's step from p.grad
      loss_sum += loss.item();
    }
    if (epoch == 1 || epoch % 10 == 0 || epoch == epochs)
      std::printf("%5d  %10.4f  %12.1f%%\n", epoch, loss_sum / steps, 100 * accuracy(model, test));
  }

  const double acc = accuracy(model, test);
  std::printf("\nfinal test accuracy %.1f%% (%s: >= 90%%)\n", 100 * acc, acc >= 0.9 ? "ok" : "FAILED");
  return acc >= 0.9 ? 0 : 1;
}
