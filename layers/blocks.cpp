#include "layers/blocks.hpp"

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
    layers_->append(std::make_unique<Linear>(dims_[i], dims_[i + 1], rng));
    layers_->append(std::make_unique<LayerNorm>(dims_[i + 1]));
    layers_->append(std::make_unique<ReLU>());
  }
}

Gate::Gate(Index in_features, Index num_experts, Rng& rng) : Sequential("Gate") {
  append(std::make_unique<Linear>(in_features, num_experts, rng));
  append(std::make_unique<Softmax>());
}

Tower::Tower(Index features, Rng& rng) : Sequential("Tower") {
  append(std::make_unique<Linear>(features, features, rng));
  append(std::make_unique<LayerNorm>(features));
  append(std::make_unique<ReLU>());
  append(std::make_unique<Linear>(features, 1, rng));
}

}  // namespace m3oe::nn
