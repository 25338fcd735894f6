#include "layers/blocks.hpp"

#include "autograd/ops.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"

#include <stdexcept>

namespace m3oe::nn {

MLP::MLP(const std::vector<Index>& dims, Rng& rng) : UnaryModule("MLP"), dims_(dims) {
  if (dims_.size() < 2)
    throw std::invalid_argument("MLP: needs at least two dims (in, out), got " +
                                std::to_string(dims_.size()));
  for (Index d : dims_)
    if (d <= 0) throw std::invalid_argument("MLP: dims must be positive");
  layers_ = &register_module("domain_specific", std::make_unique<Sequential>());
  for (std::size_t i = 0; i + 1 < dims_.size(); ++i) {
    Linear& lin = layers_->append(std::make_unique<Linear>(dims_[i], dims_[i + 1], rng));
    LayerNorm& norm = layers_->append(std::make_unique<LayerNorm>(dims_[i + 1]));
    layers_->append(std::make_unique<ReLU>());
    blocks_.emplace_back(&lin, &norm);
  }
}

Var MLP::forward(const Var& x) try {
  if (x.cols() != in_features())
    throw std::invalid_argument("MLP(" + std::to_string(in_features()) + "->" +
                                std::to_string(out_features()) + "): input is " +
                                shape_str(x.value()) + ", expected [B," +
                                std::to_string(in_features()) + "]");
  Var h = x;
  for (const auto& [lin, norm] : blocks_)
    h = linear_ln_relu(h, lin->weight(), lin->bias(), norm->weight(), norm->bias(), 1,
                       real(norm->eps()));
  return h;
} catch (...) {
  rethrow_in_module(*this);
}

Gate::Gate(Index in_features, Index num_experts, Rng& rng) : Sequential("Gate") {
  append(std::make_unique<Linear>(in_features, num_experts, rng));
  append(std::make_unique<Softmax>());
}

Tower::Tower(Index features, Rng& rng) : Sequential("Tower") {
  hidden_ = &append(std::make_unique<Linear>(features, features, rng));
  norm_ = &append(std::make_unique<LayerNorm>(features));
  append(std::make_unique<ReLU>());
  out_ = &append(std::make_unique<Linear>(features, 1, rng));
}

Var Tower::forward(const Var& z) try {
  if (z.cols() != hidden_->in_features())
    throw std::invalid_argument("Tower(" + std::to_string(hidden_->in_features()) +
                                "): input is " + shape_str(z.value()));
  const Var h = linear_ln_relu(z, hidden_->weight(), hidden_->bias(), norm_->weight(),
                               norm_->bias(), 1, real(norm_->eps()));
  return linear(h, out_->weight(), out_->bias());
} catch (...) {
  rethrow_in_module(*this);
}

}  // namespace m3oe::nn
