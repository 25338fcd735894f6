#include "layers/linear.hpp"

#include "autograd/ops.hpp"
#include "layers/init.hpp"

#include <stdexcept>

namespace m3oe::nn {

Linear::Linear(Index in_features, Index out_features, Rng& rng, bool bias)
    : UnaryModule("Linear"), in_(in_features), out_(out_features) {
  if (in_ <= 0 || out_ <= 0)
    throw std::invalid_argument("Linear(" + std::to_string(in_) + ", " + std::to_string(out_) +
                                "): sizes must be positive");
  const double bound = init::linear_bound(in_);
  weight_ = register_parameter("weight", init::uniform(in_, out_, bound, rng));
  if (bias) bias_ = register_parameter("bias", init::uniform(1, out_, bound, rng));
}

Var Linear::forward(const Var& x) try {
  if (x.cols() != in_)
    throw std::invalid_argument("Linear(" + std::to_string(in_) + "->" + std::to_string(out_) +
                                "): input is " + shape_str(x.value()) + ", expected [B," +
                                std::to_string(in_) + "]");
  return linear(x, weight_, bias_);
} catch (...) {
  rethrow_in_module(*this);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=" + (bias_.defined() ? "True" : "False");
}

}  // namespace m3oe::nn
