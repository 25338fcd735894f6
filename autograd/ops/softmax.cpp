#include "autograd/ops/softmax.hpp"

#include "autograd/backend/backend.hpp"
#include "autograd/ops.hpp"

namespace m3oe::ops {

void softmax_rows_forward(Tensor& y, const Tensor& x) {
  y.resize(x.rows(), x.cols());
  backend::active().softmax_rows_forward(x.data(), x.rows(), x.cols(), y.data());
}

void softmax_rows_backward(Tensor* dx, const Tensor& dy, const Tensor& y) {
  if (dx) backend::active().softmax_rows_backward(y.data(), dy.data(), y.rows(), y.cols(), dx->data());
}

}  // namespace m3oe::ops

namespace m3oe {

Var softmax_rows(const Var& x) {
  Tensor y;
  ops::softmax_rows_forward(y, x.value());
  return make_result(std::move(y), "softmax_rows", {x}, [](Node& self) {
    ops::softmax_rows_backward(self.inputs[0]->grad_or_null(), self.grad, self.value);
  });
}

}  // namespace m3oe
