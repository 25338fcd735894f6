#include "autograd/ops/loss.hpp"

#include "autograd/ops.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace m3oe::ops {

namespace {
void check_same_shape(const Tensor& x, const Tensor& y, const char* op, const char* xname) {
  if (x.rows() != y.rows() || x.cols() != y.cols())
    throw std::invalid_argument(std::string(op) + ": " + xname + " is " + shape_str(x) +
                                " but the labels y are " + shape_str(y));
  if (x.size() == 0)
    throw std::invalid_argument(std::string(op) + ": empty input " + shape_str(x) +
                                " (the mean of nothing is undefined)");
}

// torch.nn.BCELoss's floor on the logs and on p (1 - p) in its backward.
// torch keeps the latter as the float 1e-12f, also for double tensors.
constexpr real kLogFloor = real(-100);
constexpr real kDenomFloor = real(1e-12f);
}  // namespace

void bce_forward(Tensor& out, const Tensor& p, const Tensor& y) {
  check_same_shape(p, y, "bce", "p");
  const auto P = p.array();
  // One vectorised pass; only on failure look for the cell to name. The
  // comparisons are false for NaN, so a NaN is reported too.
  if (!((P >= real(0)) && (P <= real(1))).all()) {
    for (Index i = 0; i < p.rows(); ++i)
      for (Index j = 0; j < p.cols(); ++j)
        if (!(p(i, j) >= real(0) && p(i, j) <= real(1)))
          throw std::invalid_argument("bce: p(" + std::to_string(i) + "," + std::to_string(j) +
                                      ") = " + std::to_string(p(i, j)) +
                                      " is not a probability in [0,1] (use bce_with_logits on "
                                      "logits)");
  }
  const auto Y = y.array();
  const real total =
      -(Y * P.log().max(kLogFloor) + (real(1) - Y) * (real(1) - P).log().max(kLogFloor)).sum();
  out.resize(1, 1);
  out(0, 0) = total / real(p.size());
}

void bce_backward(Tensor* dp, const Tensor& dout, const Tensor& p, const Tensor& y) {
  if (!dp) return;
  const real k = dout(0, 0) / real(p.size());
  const auto P = p.array();
  dp->array() += k * (P - y.array()) / (P * (real(1) - P)).max(kDenomFloor);
}

void bce_with_logits_forward(Tensor& out, const Tensor& z, const Tensor& y) {
  check_same_shape(z, y, "bce_with_logits", "z");
  const auto Z = z.array();
  const real total = (Z.max(real(0)) - Z * y.array() + (-Z.abs()).exp().log1p()).sum();
  out.resize(1, 1);
  out(0, 0) = total / real(z.size());
}

void bce_with_logits_backward(Tensor* dz, const Tensor& dout, const Tensor& z, const Tensor& y) {
  if (!dz) return;
  const real k = dout(0, 0) / real(z.size());
  dz->array() += k * ((real(1) + (-z.array()).exp()).inverse() - y.array());
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
// The labels are constants: the backward keeps its own copy of y, taken only
// when a graph will be recorded.
Tensor labels_for_backward(const Var& x, const Tensor& y) {
  return grad_enabled() && x.requires_grad() ? y : Tensor();
}
}  // namespace

Var bce(const Var& p, const Tensor& y) {
  Tensor out;
  ops::bce_forward(out, p.value(), y);
  return make_result(std::move(out), "bce", {p}, [y = labels_for_backward(p, y)](Node& self) {
    Node& P = *self.inputs[0];
    ops::bce_backward(P.grad_or_null(), self.grad, P.value, y);
  });
}

Var bce_with_logits(const Var& z, const Tensor& y) {
  Tensor out;
  ops::bce_with_logits_forward(out, z.value(), y);
  return make_result(std::move(out), "bce_with_logits", {z},
                     [y = labels_for_backward(z, y)](Node& self) {
    Node& Z = *self.inputs[0];
    ops::bce_with_logits_backward(Z.grad_or_null(), self.grad, Z.value, y);
  });
}

}  // namespace m3oe
