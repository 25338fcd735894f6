#include "layers/layernorm.hpp"

#include "autograd/ops.hpp"

#include <cstdio>
#include <stdexcept>

namespace m3oe::nn {

LayerNorm::LayerNorm(Index features, double eps) : UnaryModule("LayerNorm"), n_(features), eps_(eps) {
  if (n_ <= 0) throw std::invalid_argument("LayerNorm: feature count must be positive");
  weight_ = register_parameter("weight", Tensor::Ones(1, n_));
  bias_ = register_parameter("bias", Tensor::Zero(1, n_));
}

Var LayerNorm::forward(const Var& x) try {
  if (x.cols() != n_)
    throw std::invalid_argument("LayerNorm(" + std::to_string(n_) + "): input is " +
                                shape_str(x.value()));
  return layer_norm(x, weight_, bias_, static_cast<real>(eps_));
} catch (...) {
  rethrow_in_module(*this);
}

std::string LayerNorm::extra_repr() const {
  char eps[32];
  std::snprintf(eps, sizeof eps, "%g", eps_);  // 1e-05, as PyTorch prints it
  std::string out = "(";  // built by appends: g++ 12 warns falsely (-Wrestrict) on "(" + ...
  out += std::to_string(n_);
  out += ",), eps=";
  out += eps;
  out += ", elementwise_affine=True";
  return out;
}

}  // namespace m3oe::nn
