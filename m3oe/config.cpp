#include "m3oe/config.hpp"

#include <stdexcept>

namespace m3oe {

Index M3oEConfig::input_dim() const {
  return static_cast<Index>(schema.sparse.size()) * embedding_dim +
         static_cast<Index>(schema.dense.size());
}

void M3oEConfig::validate() const {
  auto fail = [](const std::string& msg) { throw std::invalid_argument("M3oEConfig: " + msg); };
  if (num_domains() < 1) fail("the schema has no domains (D must be >= 1)");
  if (num_tasks() < 1) fail("the schema has no tasks (T must be >= 1)");
  if (schema.sparse.empty() && schema.dense.empty()) fail("the schema has no features");
  if (embedding_dim < 1) fail("embedding_dim must be >= 1");
  if (fcn_dims.size() < 4)
    fail("fcn_dims needs at least 4 entries {star_out, hidden, hidden, expert_out}, got " +
         std::to_string(fcn_dims.size()));
  for (Index d : fcn_dims)
    if (d < 1) fail("fcn_dims entries must be >= 1");
  if (fcn_dims[2] != fcn_dims[1])
    fail("fcn_dims[2] (expert input, " + std::to_string(fcn_dims[2]) +
         ") must equal fcn_dims[1] (hidden h, " + std::to_string(fcn_dims[1]) + ")");
  if (num_shared_experts < 1) fail("num_shared_experts must be >= 1");
  if (fusion_mode == FusionMode::fixed && !(fixed_weight >= 0 && fixed_weight <= 1))
    fail("fixed_weight must lie in [0,1], got " + std::to_string(fixed_weight));
}

M3oEConfig M3oEConfig::from_schema(const data::Schema& schema) {
  M3oEConfig c;
  c.schema = schema;
  return c;
}

data::Schema ml1m_reference_schema() {
  data::Schema s;
  s.sparse = {{"user_id", 6040}, {"movie_id", 3706}, {"gender", 2},          {"occupation", 21},
              {"zip", 3439},     {"cate_id", 18},    {"domain_indicator", 3}};
  s.dense = {"age"};
  s.tasks = {"click", "like"};
  s.domains = {"age 1-18", "age 25", "age 35+"};
  s.domain_column = "domain_indicator";
  return s;
}

}  // namespace m3oe
