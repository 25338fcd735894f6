// feature_embedder.hpp: the module that turns a data::Batch into the model's
// input x. It lives in m3oe/ (not layers/) because it reads the data set's
// schema and batches; layers/ knows nothing of data.
//
// One nn::Embedding per sparse feature of the schema, held in "embed_dict"
// under the feature's name; looks every feature up, concatenates the vectors
// in schema order and appends the dense features raw:
//   x[B, n_sparse * E + n_dense] = [emb_0 | emb_1 | ... | dense].
#pragma once

#include "layers/containers.hpp"
#include "layers/embedding.hpp"
#include "m3oe/data/dataset.hpp"

#include <vector>

namespace m3oe::nn {

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
