// blocks.hpp: the three small networks M3oE is assembled from.
//
//   MLP    Linear -> LayerNorm -> ReLU, once per consecutive pair of dims.
//          MLP({256, 64}) is one block: an expert. The layers sit in a
//          Sequential called "domain_specific" (the authors' MLP_N names it
//          so), hence "expert.0.domain_specific.0.weight" = the Linear's
//          weight and "....1.weight" = the LayerNorm's.
//   Gate   softmax(Linear_in->n(x)): n mixing weights per row, summing to 1.
//          A Sequential: "0" = Linear, "1" = Softmax.
//   Tower  Linear_d->d, LayerNorm, ReLU, Linear_d->1: one logit per row.
//          A Sequential: "0", "1" (LayerNorm), "2" (ReLU), "3".
#pragma once

#include "autograd/rng.hpp"
#include "layers/containers.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"

#include <utility>
#include <vector>

namespace m3oe::nn {

class MLP : public UnaryModule {
 public:
  // dims = {in, h1, ..., out}: dims.size() - 1 blocks, at least one.
  MLP(const std::vector<Index>& dims, Rng& rng);
  // x[B, dims.front()] -> [B, dims.back()]. Each block runs as one fused
  // linear_ln_relu op (the same math as the Sequential's three layers).
  Var forward(const Var& x) override;
  Index in_features() const { return dims_.front(); }
  Index out_features() const { return dims_.back(); }
  // Block i's layers (for models that fuse several MLPs into one op).
  std::size_t num_blocks() const { return blocks_.size(); }
  const Linear& linear(std::size_t i) const { return *blocks_.at(i).first; }
  const LayerNorm& norm(std::size_t i) const { return *blocks_.at(i).second; }

 private:
  std::vector<Index> dims_;
  Sequential* layers_;  // owned as the child "domain_specific"
  std::vector<std::pair<Linear*, LayerNorm*>> blocks_;
};

class Gate : public Sequential {
 public:
  Gate(Index in_features, Index num_experts, Rng& rng);
  // x[B,in] -> [B,n], rows sum to 1 (Sequential::forward).
};

class Tower : public Sequential {
 public:
  Tower(Index features, Rng& rng);
  // z[B,d] -> logits [B,1] (no sigmoid: the model applies it); the first
  // three layers run as one fused linear_ln_relu op.
  Var forward(const Var& z) override;

 private:
  Linear* hidden_;
  LayerNorm* norm_;
  Linear* out_;
};

}  // namespace m3oe::nn
