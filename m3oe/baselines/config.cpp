#include "m3oe/baselines/config.hpp"

#include <stdexcept>
#include <string>

namespace m3oe::baselines {

Index BaselineConfig::input_dim() const {
  return static_cast<Index>(schema.sparse.size()) * embedding_dim +
         static_cast<Index>(schema.dense.size());
}

std::vector<Index> BaselineConfig::path_dims() const {
  std::vector<Index> dims{input_dim()};
  dims.insert(dims.end(), hidden.begin(), hidden.end());
  dims.push_back(repr_dim);
  return dims;
}

void BaselineConfig::validate() const {
  auto fail = [](const std::string& msg) { throw std::invalid_argument("BaselineConfig: " + msg); };
  if (num_domains() < 1) fail("the schema has no domains (D must be >= 1)");
  if (num_tasks() < 1) fail("the schema has no tasks (T must be >= 1)");
  if (schema.sparse.empty() && schema.dense.empty()) fail("the schema has no features");
  if (embedding_dim < 1) fail("embedding_dim must be >= 1");
  if (hidden.empty()) fail("hidden needs at least one width");
  for (Index h : hidden)
    if (h < 1) fail("hidden widths must be >= 1");
  if (repr_dim < 1) fail("repr_dim must be >= 1");
  if (experts < 1) fail("experts must be >= 1");
  if (specific_experts < 1) fail("specific_experts must be >= 1");
  if (shared_experts < 1) fail("shared_experts must be >= 1");
  if (star_aux_hidden < 1) fail("star_aux_hidden must be >= 1");
  if (meta_dim < 1) fail("meta_dim must be >= 1");
  if (meta_tower_layers < 0) fail("meta_tower_layers must be >= 0");
}

}  // namespace m3oe::baselines
