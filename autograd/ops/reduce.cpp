#include "autograd/ops/reduce.hpp"

#include "autograd/ops.hpp"

#include <stdexcept>
#include <string>

namespace m3oe::ops {

void sum_forward(Tensor& out, const Tensor& x, real scale) {
  out.resize(1, 1);
  out(0, 0) = scale * x.sum();
}
void sum_backward(Tensor* dx, const Tensor& dout, real scale) {
  if (dx) dx->array() += scale * dout(0, 0);
}

void sum_to_row_forward(Tensor& out, const Tensor& x, real scale) {
  out = scale * x.colwise().sum();
}
void sum_to_row_backward(Tensor* dx, const Tensor& dout, real scale) {
  if (dx) dx->rowwise() += scale * dout.row(0);
}

void sum_to_col_forward(Tensor& out, const Tensor& x, real scale) {
  out = scale * x.rowwise().sum();
}
void sum_to_col_backward(Tensor* dx, const Tensor& dout, real scale) {
  if (dx) dx->colwise() += scale * dout.col(0);
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
using Forward = void (*)(Tensor&, const Tensor&, real);
using Backward = void (*)(Tensor*, const Tensor&, real);

// 1 / count for a mean, with a clear error for the mean of nothing.
real inverse_count(Index count, const Var& x, const char* op) {
  if (count == 0)
    throw std::invalid_argument(std::string(op) + ": mean over an empty dimension of x " +
                                shape_str(x.value()));
  return real(1) / real(count);
}

Var reduce_op(const Var& x, real scale, const char* name, Forward fwd, Backward bwd) {
  Tensor out;
  fwd(out, x.value(), scale);
  return make_result(std::move(out), name, {x}, [scale, bwd](Node& self) {
    bwd(self.inputs[0]->grad_or_null(), self.grad, scale);
  });
}
}  // namespace

Var sum(const Var& x) { return reduce_op(x, 1, "sum", ops::sum_forward, ops::sum_backward); }
Var mean(const Var& x) {
  return reduce_op(x, inverse_count(x.value().size(), x, "mean"), "mean", ops::sum_forward,
                   ops::sum_backward);
}
Var sum_to_row(const Var& x) {
  return reduce_op(x, 1, "sum_to_row", ops::sum_to_row_forward, ops::sum_to_row_backward);
}
Var mean_to_row(const Var& x) {
  return reduce_op(x, inverse_count(x.rows(), x, "mean_to_row"), "mean_to_row",
                   ops::sum_to_row_forward, ops::sum_to_row_backward);
}
Var sum_to_col(const Var& x) {
  return reduce_op(x, 1, "sum_to_col", ops::sum_to_col_forward, ops::sum_to_col_backward);
}
Var mean_to_col(const Var& x) {
  return reduce_op(x, inverse_count(x.cols(), x, "mean_to_col"), "mean_to_col",
                   ops::sum_to_col_forward, ops::sum_to_col_backward);
}

// A constant with x's value: the node records no inputs and no backward, so
// nothing upstream of x receives a gradient through it.
Var stop_gradient(const Var& x) { return make_result(x.value(), "stop_gradient", {}, nullptr); }

}  // namespace m3oe
