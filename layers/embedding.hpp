// embedding.hpp: a lookup table of learned vectors (PyTorch's nn.Embedding).
//
// Embedding: "weight" [V,E], row v is the vector of id v. Default init
// N(0, std = 1e-4): the authors' code creates every table with
// RandomNormal(0, 0.0001), i.e. torch.nn.init.normal_(weight, 0, 1e-4), so
// 1e-4 is the standard deviation (the paper's "N(0, 1e-4)").
#pragma once

#include "autograd/rng.hpp"
#include "layers/containers.hpp"

namespace m3oe::nn {

class Embedding : public Module {
 public:
  Embedding(Index num_embeddings, Index embedding_dim, Rng& rng, double init_std = 1e-4);
  // ids[B], each in [0,V) -> [B,E]
  Var forward(const IndexList& ids) const;
  std::string extra_repr() const override;

  Index num_embeddings() const { return weight_.rows(); }
  Index embedding_dim() const { return weight_.cols(); }
  const Var& weight() const { return weight_; }

 private:
  Var weight_;
};

}  // namespace m3oe::nn
