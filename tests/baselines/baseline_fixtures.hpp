// Tiny configurations of every baseline for the tests.
#pragma once

#include "../layers/model_fixtures.hpp"
#include "m3oe/baselines/config.hpp"
#include "m3oe/baselines/registry.hpp"
#include "m3oe/config.hpp"

#include <memory>
#include <string>
#include <vector>

namespace m3oe::testing {

// Every baseline family in every run mode, and the two M3oE variants.
inline std::vector<std::string> baseline_names() {
  return {"mlp",          "shared-bottom-mtl", "shared-bottom-mdl", "shared-bottom-mdmt",
          "mmoe-mtl",     "mmoe-mdl",          "mmoe-mdmt",         "ple-mtl",
          "ple-mdl",      "ple-mdmt",          "adatt-mtl",         "adatt-mdl",
          "adatt",        "adatt-sp-mtl",      "adatt-sp-mdl",      "adatt-sp",
          "star",         "m2m",               "m3oe-concat",       "m3oe-gated"};
}

// Narrow layers: path {in, 6, 5, 3}.
inline baselines::BaselineConfig tiny_baseline(const data::Schema& s) {
  baselines::BaselineConfig c;
  c.schema = s;
  c.embedding_dim = 2;
  c.hidden = {6, 5};
  c.repr_dim = 3;
  c.experts = 2;
  c.star_aux_hidden = 4;
  c.meta_dim = 2;
  return c;
}

inline M3oEConfig tiny_m3oe(const data::Schema& s) {
  M3oEConfig c = M3oEConfig::from_schema(s);
  c.embedding_dim = 2;
  c.fcn_dims = {6, 5, 5, 3};
  c.num_shared_experts = 2;
  return c;
}

inline std::unique_ptr<RecModel> tiny_model(const std::string& name, const data::Schema& s, Rng& rng) {
  return baselines::make_model(name, tiny_m3oe(s), tiny_baseline(s), rng);
}

}  // namespace m3oe::testing
