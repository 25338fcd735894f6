// layernorm.hpp: LayerNorm over the last dimension, after nn.LayerNorm.
//
// y = (x - mean) / sqrt(var + eps) * weight + bias per row, biased variance,
// eps = 1e-5; "weight" [1,n] starts at 1 and "bias" [1,n] at 0.
#pragma once

#include "layers/containers.hpp"

namespace m3oe::nn {

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(Index features, double eps = 1e-5);
  // x[B,n] -> [B,n]
  Var forward(const Var& x) override;
  std::string extra_repr() const override;

  Index features() const { return n_; }
  double eps() const { return eps_; }
  const Var& weight() const { return weight_; }
  const Var& bias() const { return bias_; }

 private:
  Index n_;
  double eps_;
  Var weight_, bias_;
};

}  // namespace m3oe::nn
