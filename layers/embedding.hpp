// embedding.hpp: lookup tables, and the feature embedder that turns a
// data::Batch into the model's input x.
//
// Embedding: "weight" [V,E], row v is the vector of id v. Default init
// N(0, std = 1e-4): the authors' code creates every table with
// RandomNormal(0, 0.0001), i.e. torch.nn.init.normal_(weight, 0, 1e-4), so
// 1e-4 is the standard deviation (the paper's "N(0, 1e-4)").
//
// FeatureEmbedder: one Embedding per sparse feature of the schema, held in
// "embed_dict" under the feature's name; looks every feature up, concatenates
// the vectors in schema order and appends the dense features raw:
//   x[B, n_sparse * E + n_dense] = [emb_0 | emb_1 | ... | dense].
#pragma once

#include "layers/containers.hpp"
#include "m3oe/data/dataset.hpp"
#include "m3oe/rng.hpp"

#include <vector>

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

class FeatureEmbedder : public Module {
 public:
  FeatureEmbedder(const data::Schema& schema, Index embedding_dim, Rng& rng,
                  double init_std = 1e-4);
  // The batch's features -> x[B, output_dim()]. Throws std::invalid_argument
  // naming the feature and row for an id outside its vocabulary, and for a
  // batch whose feature count or sizes disagree with the schema.
  Var forward(const data::Batch& batch) const;
  Index output_dim() const;

  const Embedding& table(std::size_t feature) const { return *tables_.at(feature); }

 private:
  std::vector<data::SparseFeature> sparse_;
  std::vector<std::string> dense_;
  Index dim_;
  std::vector<Embedding*> tables_;
};

}  // namespace m3oe::nn
