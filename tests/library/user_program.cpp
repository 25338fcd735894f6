// user_program.cpp: a program as a library user writes it, compiled with the
// user's own flags, not the project's. The build compiles it three ways:
//   - in the test suite, with no -march (x86-64 baseline) and under
//     AddressSanitizer, against the library built with -march=native
//     (tests/library/meson.build): the ABI must not depend on -march;
//   - by scripts/check_install.sh, out of tree, against an installed prefix
//     with `c++ -std=c++20 user_program.cpp $(pkg-config --cflags --libs m3oe)`;
//   - by the same script as a meson project using m3oe.cpp as a subproject.
// It trains a small MLP with Adam on a separable toy problem and checks that
// it learned (exit 0) — the optimizer's state is what crashed at exit when the
// program's Eigen alignment differed from the library's.
#include "autograd/ops.hpp"
#include "autograd/rng.hpp"
#include "layers/containers.hpp"
#include "layers/linear.hpp"
#include "optim/adam.hpp"

#include <cstdio>
#include <memory>

int main() {
  using namespace m3oe;
  Rng rng(7);
  // 256 points in the plane, label 1 when x0 + x1 > 0.
  const Index n = 256;
  Tensor x(n, 2), y(n, 1);
  for (Index i = 0; i < n; ++i) {
    x(i, 0) = static_cast<real>(rng.uniform(-1, 1));
    x(i, 1) = static_cast<real>(rng.uniform(-1, 1));
    y(i, 0) = x(i, 0) + x(i, 1) > 0 ? 1 : 0;
  }
  nn::Sequential model;
  model.append(std::make_unique<nn::Linear>(2, 16, rng));
  model.append(std::make_unique<nn::ReLU>());
  model.append(std::make_unique<nn::Linear>(16, 1, rng));
  optim::Adam adam(model.parameters(), 0.05);

  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    adam.zero_grad();
    Var loss = bce_with_logits(model(Var(x)), y);
    loss.backward();
    adam.step();
    last = loss.value()(0, 0);
    if (step == 0) first = last;
  }
  std::printf("user_program: loss %.4f -> %.4f\n", first, last);
  if (!(last < 0.2 && last < first / 3)) {
    std::printf("user_program: FAILED, the MLP did not learn\n");
    return 1;
  }
  return 0;
}
