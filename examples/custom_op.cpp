// custom_op: writing your own op, with its backward, and checking it with the
// library's gradient checker (autograd/gradcheck.hpp).
//
// Teaches:
//   1. the two halves of an op: a forward that computes the value, and a
//      backward closure that turns the output's gradient dL/dy into the
//      inputs' gradients, ACCUMULATED (+=) because an input may feed several
//      ops;
//   2. make_result(value, op name, inputs, backward): the one call that puts
//      an op into the graph (it records nothing under NoGradGuard or when no
//      input needs a gradient);
//   3. m3oe::gradcheck: central differences against your backward, with a
//      report of the worst entry, and what it says about a wrong backward.
//
// The op is softplus(x) = log(1 + exp(x)), a smooth ReLU, written in its
// overflow-safe form max(x, 0) + log1p(exp(-|x|)). Its derivative is
// d softplus / dx = sigmoid(x), so the backward is  dx += dy * sigmoid(x).
//
// Built against the double library (libm3oe_f64, real = double): finite
// differences need the precision. Run: ./build/examples/custom_op
// Exits 1 unless the right backward passes and the wrong one is caught.
#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "autograd/rng.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

using namespace m3oe;

namespace {

// ---- the op's two halves, as the library's own ops are written ------------
// x[M,N] -> y[M,N]
void softplus_forward(Tensor& y, const Tensor& x) {
  y = x.array().max(real(0)) + (-x.array().abs()).exp().log1p();
}
// dx[M,N] += dy[M,N] * sigmoid(x[M,N]); dx is nullptr when x needs no gradient.
void softplus_backward(Tensor* dx, const Tensor& dy, const Tensor& x) {
  if (dx) dx->array() += dy.array() * (real(1) + (-x.array()).exp()).inverse();
}
// The same backward with a classic mistake: the chain rule's dy is forgotten.
void softplus_backward_wrong(Tensor* dx, const Tensor& /*dy*/, const Tensor& x) {
  if (dx) dx->array() += (real(1) + (-x.array()).exp()).inverse();
}

// ---- the op as users call it: a Var in, a Var out --------------------------
using BackwardKernel = void (*)(Tensor*, const Tensor&, const Tensor&);

Var softplus(const Var& x, BackwardKernel backward = softplus_backward) {
  Tensor y;
  softplus_forward(y, x.value());
  // The closure runs during backward: `self` is the result node, self.grad is
  // dL/dy, self.inputs[0] is x's node; grad_or_null() is x's gradient buffer
  // (nullptr when x does not require grad).
  return make_result(std::move(y), "softplus", {x}, [backward](Node& self) {
    Node& input = *self.inputs[0];
    backward(input.grad_or_null(), self.grad, input.value);
  });
}

}  // namespace

int main() {
  static_assert(sizeof(real) == sizeof(double), "custom_op links the double library");

  // 1. Use it like any op: forward, then backward.
  Tensor x0(2, 3);
  x0 << -2.0, -0.5, 0.0,  //
        0.5, 2.0, 30.0;   // 30: exp(30) would be large; the safe form stays exact
  Var x(x0, /*requires_grad=*/true);
  x.set_name("x");
  Var y = softplus(x);
  std::cout << "softplus(x) =\n" << y << "\n";
  sum(y).backward();
  std::cout << "d sum(softplus(x)) / dx = sigmoid(x) =\n" << to_string(x.grad()) << "\n\n";

  // 2. Check the backward against central differences, in a composite
  //    expression so that the op's input gradient flows on (softplus of a
  //    matmul): L = sum(W .* softplus(a @ b)) for a fixed random W.
  Rng rng(3);
  auto random = [&](Index r, Index c) {
    Tensor t(r, c);
    for (Index i = 0; i < t.size(); ++i) t.data()[i] = rng.uniform(-1.5, 1.5);
    return Var(t, true);
  };
  Var a = random(4, 3), b = random(3, 5);
  a.set_name("a");
  b.set_name("b");
  GradcheckResult right = gradcheck(
      [](const std::vector<Var>& v) { return softplus(matmul(v[0], v[1])); }, {a, b});
  std::cout << "right backward: " << right.report() << "\n";

  // 3. The same check catches the wrong backward and names the worst entry.
  GradcheckResult wrong = gradcheck(
      [](const std::vector<Var>& v) {
        return softplus(matmul(v[0], v[1]), softplus_backward_wrong);
      },
      {a, b});
  std::cout << "wrong backward: " << wrong.report() << "\n";

  if (!right.passed || wrong.passed) {
    std::fprintf(stderr, "custom_op: FAILED (%s)\n",
                 right.passed ? "the wrong backward was not caught"
                              : "the right backward did not pass");
    return 1;
  }
  return 0;
}
