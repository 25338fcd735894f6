#include "autograd/ops/layernorm.hpp"

#include "autograd/backend/backend.hpp"
#include "autograd/ops.hpp"

#include <stdexcept>
#include <string>

namespace m3oe::ops {

void layer_norm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x,
                        const Tensor& gamma, const Tensor& beta, real eps) {
  out.resize(x.rows(), x.cols());
  mean.resize(x.rows(), 1);
  rstd.resize(x.rows(), 1);
  backend::active().layernorm_forward(x.data(), gamma.data(), beta.data(), x.rows(), x.cols(), eps,
                                      out.data(), mean.data(), rstd.data());
}

void layer_norm_backward(Tensor* dx, Tensor* dgamma, Tensor* dbeta, const Tensor& dout,
                         const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd) {
  if (!dx && !dgamma && !dbeta) return;
  backend::active().layernorm_backward(dout.data(), x.data(), gamma.data(), mean.data(),
                                       rstd.data(), x.rows(), x.cols(),
                                       dx ? dx->data() : nullptr,
                                       dgamma ? dgamma->data() : nullptr,
                                       dbeta ? dbeta->data() : nullptr);
}

}  // namespace m3oe::ops

namespace m3oe {

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, real eps) {
  const Index n = x.cols();
  auto is_row = [n](const Var& v) { return v.rows() == 1 && v.cols() == n; };
  if (!gamma.defined() || !beta.defined() || !is_row(gamma) || !is_row(beta))
    throw std::invalid_argument(
        "layer_norm: gamma and beta must be [1," + std::to_string(n) + "] for x " +
        shape_str(x.value()) + ", got " +
        (gamma.defined() ? shape_str(gamma.value()) : std::string("undefined")) + " and " +
        (beta.defined() ? shape_str(beta.value()) : std::string("undefined")));
  if (n == 0) throw std::invalid_argument("layer_norm: x " + shape_str(x.value()) + " has no columns");
  if (!(eps > real(0)))
    throw std::invalid_argument("layer_norm: eps must be > 0, got " + std::to_string(eps));
  Tensor out, mean, rstd;
  ops::layer_norm_forward(out, mean, rstd, x.value(), gamma.value(), beta.value(), eps);
  return make_result(std::move(out), "layer_norm", {x, gamma, beta},
                     [mean = std::move(mean), rstd = std::move(rstd)](Node& self) {
                       Node& X = *self.inputs[0];
                       Node& G = *self.inputs[1];
                       Node& B = *self.inputs[2];
                       ops::layer_norm_backward(X.grad_or_null(), G.grad_or_null(),
                                                B.grad_or_null(), self.grad, X.value, G.value,
                                                mean, rstd);
                     });
}

}  // namespace m3oe
