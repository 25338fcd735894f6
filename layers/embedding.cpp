#include "layers/embedding.hpp"

#include "autograd/ops.hpp"
#include "layers/init.hpp"

#include <stdexcept>

namespace m3oe::nn {

Embedding::Embedding(Index num_embeddings, Index embedding_dim, Rng& rng, double init_std)
    : Module("Embedding") {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    throw std::invalid_argument("Embedding(" + std::to_string(num_embeddings) + ", " +
                                std::to_string(embedding_dim) + "): sizes must be positive");
  weight_ = register_parameter("weight",
                               init::normal(num_embeddings, embedding_dim, 0.0, init_std, rng));
}

Var Embedding::forward(const IndexList& ids) const try {
  return embedding(weight_, ids);
} catch (...) {
  rethrow_in_module(*this);
}

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings()) + ", " + std::to_string(embedding_dim());
}

}  // namespace m3oe::nn
