// autograd_tour: a first m3oe.cpp program.
//
// A tiny logistic regression, p = sigmoid(x w + b), with loss
// L = mean binary cross-entropy. We build the expression from ops, print
// every value, look at the graph the ops recorded (Graphviz DOT), run
// backward, print the gradients, and check one gradient against a finite
// difference. Run: ./build/examples/autograd_tour
// It writes autograd_tour.dot; `dot -Tsvg autograd_tour.dot -o tour.svg`
// (Debian's graphviz) draws it.
// Exits with 1 if the two disagree or gradient descent does not lower the loss.
#include "autograd/graph_dot.hpp"
#include "autograd/ops.hpp"
#include "autograd/print.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

using namespace m3oe;

int main() {
  // 1. Data: four samples with two features each, and their 0/1 labels.
  //    Constants are Vars that do not require a gradient.
  Tensor x_data(4, 2), y(4, 1);
  x_data << 1.0f, 2.0f,   //
            -1.0f, 0.5f,  //
            0.5f, -1.5f,  //
            2.0f, 1.0f;
  y << 1, 0, 0, 1;
  Var x(x_data);

  // 2. Parameters: leaves that require a gradient. Weights are [in,out].
  Tensor w0(2, 1), b0(1, 1);
  w0 << 0.1f, -0.2f;
  b0 << 0.05f;
  Var w(w0, /*requires_grad=*/true);
  Var b(b0, /*requires_grad=*/true);
  w.set_name("w");  // names show in printing and in the graph
  b.set_name("b");
  x.set_name("x");

  // 3. The forward pass. Each op computes its value now and, because w and
  //    b require grad, records how to send a gradient back to its inputs.
  Var z = linear(x, w, b);  // x[4,2] @ w[2,1] + b[1,1] -> [4,1]
  Var p = sigmoid(z);       // probabilities
  Var loss = bce(p, y);     // [1,1]
  std::cout << "logits z = " << z << "\n";
  std::cout << "probabilities p = " << p << "\n";
  std::printf("loss = %.6f (made by op '%s')\n\n", loss.item(), loss.op());
  // The same logits with operators: x @ w + b is matmul, then add (b[1,1]
  // broadcast over the rows). Operators build the same graph as the named ops.
  Var z_again = matmul(x, w) + b;
  const bool operators_agree = (z_again.value() - z.value()).cwiseAbs().maxCoeff() < 1e-6f;

  // 3b. The graph the forward recorded, before backward releases it: one box
  //     per op with its shape; leaves that need a gradient in blue, op results
  //     that backward runs through in yellow, constants in white.
  std::cout << "the graph of loss, as Graphviz DOT:\n" << to_dot(loss) << "\n";
  {
    std::ofstream dot_file("autograd_tour.dot");
    write_dot(dot_file, loss);
  }

  // 4. The backward pass: dloss/d(every leaf that requires grad).
  //    For this model dL/dw = x^T (p - y) / 4 and dL/db = mean(p - y).
  loss.backward();
  std::cout << "dL/dw = " << to_string(w.grad()) << "\n";
  std::cout << "dL/db = " << to_string(b.grad()) << "\n";

  // 5. Trust, but verify: nudge w[0] up and down and look at the loss.
  //    (float arithmetic, so expect agreement to ~3-4 digits; the test suite
  //    checks every op this way in double precision.)
  auto loss_at = [&](const Tensor& w_try) {
    NoGradGuard no_grad;  // evaluation only: record no graph
    return bce(sigmoid(linear(x, Var(w_try), b)), y).item();
  };
  const float h = 1e-2f;
  Tensor w_up = w0, w_down = w0;
  w_up(0, 0) += h;
  w_down(0, 0) -= h;
  const float numeric = (loss_at(w_up) - loss_at(w_down)) / (2 * h);
  const float backward_value = w.grad()(0, 0);
  std::printf("\ndL/dw[0]: backward %.6f   finite difference %.6f\n", backward_value, numeric);

  // 6. A few steps of gradient descent with what we just computed. Each
  //    step builds a fresh graph; zero_grad forgets the previous gradient,
  //    which would otherwise be ADDED to (gradients accumulate).
  std::printf("\ngradient descent, learning rate 0.5:\n");
  const float first_loss = loss.item();
  float last_loss = first_loss;
  for (int step = 1; step <= 5; ++step) {
    {
      NoGradGuard no_grad;  // parameter updates are not part of any graph
      w.value() -= 0.5f * w.grad();
      b.value() -= 0.5f * b.grad();
    }
    w.zero_grad();
    b.zero_grad();
    Var l = bce(sigmoid(linear(x, w, b)), y);
    l.backward();
    std::printf("  step %d: loss %.6f\n", step, l.item());
    last_loss = l.item();
  }
  // The claims above, checked (float: the difference quotient is good to ~1e-3).
  const bool grad_ok = std::abs(backward_value - numeric) <= 1e-3f * (1 + std::abs(numeric));
  if (!grad_ok || !(last_loss < first_loss) || !operators_agree) {
    std::fprintf(stderr, "autograd_tour: FAILED (%s)\n",
                 !grad_ok            ? "backward and finite difference disagree"
                 : !operators_agree ? "x @ w + b with operators differs from linear()"
                                    : "the loss did not decrease");
    return 1;
  }
  return 0;
}
