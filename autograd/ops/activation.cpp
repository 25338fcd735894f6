#include "autograd/ops/activation.hpp"

#include "autograd/ops.hpp"

namespace m3oe::ops {

// For x << 0, exp(-x) overflows to inf and 1 / inf = 0: the right limit.
void sigmoid_forward(Tensor& y, const Tensor& x) {
  y = (real(1) + (-x.array()).exp()).inverse();
}
void sigmoid_backward(Tensor* dx, const Tensor& dy, const Tensor& y) {
  if (dx) dx->array() += dy.array() * y.array() * (real(1) - y.array());
}

void relu_forward(Tensor& y, const Tensor& x) { y = x.array().max(real(0)); }
void relu_backward(Tensor* dx, const Tensor& dy, const Tensor& y) {
  if (dx) dx->array() += (y.array() > real(0)).select(dy.array(), real(0));
}

void tanh_forward(Tensor& y, const Tensor& x) { y = x.array().tanh(); }
void tanh_backward(Tensor* dx, const Tensor& dy, const Tensor& y) {
  if (dx) dx->array() += dy.array() * (real(1) - y.array().square());
}

void exp_forward(Tensor& y, const Tensor& x) { y = x.array().exp(); }
void exp_backward(Tensor* dx, const Tensor& dy, const Tensor& y) {
  if (dx) dx->array() += dy.array() * y.array();
}

void log_forward(Tensor& y, const Tensor& x) { y = x.array().log(); }
void log_backward(Tensor* dx, const Tensor& dy, const Tensor& x) {
  if (dx) dx->array() += dy.array() / x.array();
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
using Forward = void (*)(Tensor&, const Tensor&);
using Backward = void (*)(Tensor*, const Tensor&, const Tensor&);

// Ops whose backward reads the output y.
Var from_output(const Var& x, const char* name, Forward fwd, Backward bwd) {
  Tensor y;
  fwd(y, x.value());
  return make_result(std::move(y), name, {x}, [bwd](Node& self) {
    bwd(self.inputs[0]->grad_or_null(), self.grad, self.value);
  });
}
}  // namespace

Var sigmoid(const Var& x) {
  return from_output(x, "sigmoid", ops::sigmoid_forward, ops::sigmoid_backward);
}
Var relu(const Var& x) { return from_output(x, "relu", ops::relu_forward, ops::relu_backward); }
Var tanh(const Var& x) { return from_output(x, "tanh", ops::tanh_forward, ops::tanh_backward); }
Var exp(const Var& x) { return from_output(x, "exp", ops::exp_forward, ops::exp_backward); }

Var log(const Var& x) {
  Tensor y;
  ops::log_forward(y, x.value());
  return make_result(std::move(y), "log", {x}, [](Node& self) {
    Node& X = *self.inputs[0];
    ops::log_backward(X.grad_or_null(), self.grad, X.value);
  });
}

}  // namespace m3oe
