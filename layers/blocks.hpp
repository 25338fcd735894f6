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

#include "layers/containers.hpp"
#include "m3oe/rng.hpp"

#include <vector>

namespace m3oe::nn {

class MLP : public UnaryModule {
 public:
  // dims = {in, h1, ..., out}: dims.size() - 1 blocks, at least one.
  MLP(const std::vector<Index>& dims, Rng& rng);
  // x[B, dims.front()] -> [B, dims.back()]
  Var forward(const Var& x) override { return layers_->forward(x); }
  Index in_features() const { return dims_.front(); }
  Index out_features() const { return dims_.back(); }

 private:
  std::vector<Index> dims_;
  Sequential* layers_;  // owned as the child "domain_specific"
};

class Gate : public Sequential {
 public:
  Gate(Index in_features, Index num_experts, Rng& rng);
  // x[B,in] -> [B,n], rows sum to 1 (Sequential::forward).
};

class Tower : public Sequential {
 public:
  Tower(Index features, Rng& rng);
  // z[B,d] -> logits [B,1] (no sigmoid: the model applies it).
};

}  // namespace m3oe::nn
