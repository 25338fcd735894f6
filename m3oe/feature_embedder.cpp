#include "m3oe/feature_embedder.hpp"

#include "autograd/ops.hpp"

#include <set>
#include <stdexcept>

namespace m3oe::nn {

FeatureEmbedder::FeatureEmbedder(const data::Schema& schema, Index embedding_dim, Rng& rng,
                                 double init_std)
    : Module("FeatureEmbedder"), sparse_(schema.sparse), dense_(schema.dense), dim_(embedding_dim) {
  if (sparse_.empty() && dense_.empty())
    throw std::invalid_argument("FeatureEmbedder: the schema has no features");
  std::set<std::string> seen;
  auto& dict = register_module("embed_dict", std::make_unique<ModuleDict>());
  for (const auto& f : sparse_) {
    if (!seen.insert(f.name).second)
      throw std::invalid_argument("FeatureEmbedder: sparse feature '" + f.name +
                                  "' appears twice in the schema");
    if (f.vocab <= 0)
      throw std::invalid_argument("FeatureEmbedder: sparse feature '" + f.name + "' has vocab " +
                                  std::to_string(f.vocab) + " (must be > 0)");
    tables_.push_back(
        &dict.insert(f.name, std::make_unique<Embedding>(f.vocab, dim_, rng, init_std)));
  }
}

Index FeatureEmbedder::output_dim() const {
  return static_cast<Index>(sparse_.size()) * dim_ + static_cast<Index>(dense_.size());
}

Var FeatureEmbedder::forward(const data::Batch& batch) const try {
  const Index rows = batch.rows;
  if (batch.sparse_ids.size() != sparse_.size())
    throw std::invalid_argument("FeatureEmbedder: batch has " +
                                std::to_string(batch.sparse_ids.size()) +
                                " sparse features, schema has " + std::to_string(sparse_.size()));
  if (batch.dense.rows() != rows || batch.dense.cols() != static_cast<Index>(dense_.size()))
    throw std::invalid_argument("FeatureEmbedder: batch dense block is " +
                                shape_str(batch.dense) + ", expected [" + std::to_string(rows) +
                                "," + std::to_string(dense_.size()) + "]");
  std::vector<Var> parts;
  parts.reserve(sparse_.size() + 1);
  for (std::size_t f = 0; f < sparse_.size(); ++f) {
    const IndexList& ids = batch.sparse_ids[f];
    if (static_cast<Index>(ids.size()) != rows)
      throw std::invalid_argument("FeatureEmbedder: feature '" + sparse_[f].name + "' has " +
                                  std::to_string(ids.size()) + " ids for a batch of " +
                                  std::to_string(rows) + " rows");
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] < 0 || ids[i] >= sparse_[f].vocab)
        throw std::invalid_argument("FeatureEmbedder: feature '" + sparse_[f].name + "', row " +
                                    std::to_string(i) + ": id " + std::to_string(ids[i]) +
                                    " is outside its vocabulary [0," +
                                    std::to_string(sparse_[f].vocab) + ")");
    parts.push_back(tables_[f]->forward(ids));
  }
  if (!dense_.empty()) parts.emplace_back(batch.dense);
  return parts.size() == 1 ? parts[0] : concat_cols(parts);
} catch (...) {
  rethrow_in_module(*this);
}

}  // namespace m3oe::nn
