// linear.hpp: the affine layer y = x W + b.
//
// The weight is stored [in,out] (PyTorch's nn.Linear stores [out,in] and
// computes x W^T): a row of x times W is then a walk along rows of W, the
// layout the row-major GEMM wants. Names and init match nn.Linear:
// "weight" [in,out] and "bias" [1,out], both U(-1/sqrt(in), 1/sqrt(in)).
// Converting a PyTorch state dict means transposing each Linear weight.
#pragma once

#include "autograd/rng.hpp"
#include "layers/containers.hpp"

namespace m3oe::nn {

class Linear : public UnaryModule {
 public:
  Linear(Index in_features, Index out_features, Rng& rng, bool bias = true);
  // x[B,in] -> [B,out]
  Var forward(const Var& x) override;
  std::string extra_repr() const override;

  Index in_features() const { return in_; }
  Index out_features() const { return out_; }
  const Var& weight() const { return weight_; }  // [in,out]
  const Var& bias() const { return bias_; }      // [1,out], undefined if bias = false

 private:
  Index in_, out_;
  Var weight_, bias_;
};

}  // namespace m3oe::nn
