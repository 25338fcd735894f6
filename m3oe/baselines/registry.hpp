// registry.hpp: every model `m3oe train --model NAME` and `m3oe compare`
// know, by name.
//
//   m3oe                          the full model (m3oe/model.hpp)
//   m3oe-no-automl                fusion weights fixed at fixed_value (0.5): "w/o AutoML"
//   m3oe-no-domain / -no-task / -no-both   without the domain / task / both modules
//   m3oe-concat / m3oe-gated      concatenated / fully gated modules (m3oe_variants.hpp)
//   mlp                           one MLP per (domain, task) cell
//   shared-bottom-, mmoe-, ple-, adatt-, adatt-sp-  + mtl | mdl | mdmt
//                                 the multi-task networks in a run mode (run_modes.hpp);
//                                 "adatt" and "adatt-sp" alone mean -mdmt
//   star, m2m                     the multi-domain models
#pragma once

#include "autograd/rng.hpp"
#include "m3oe/baselines/config.hpp"
#include "m3oe/config.hpp"
#include "m3oe/model_interface.hpp"

#include <memory>
#include <string>
#include <vector>

namespace m3oe::baselines {

struct ModelInfo {
  std::string name;
  std::string description;  // one line: the paper, the run mode
};

// Every accepted name, in the order of the paper's Table 2 and ablations.
const std::vector<ModelInfo>& model_catalog();
// The models of the paper's Table 2 and its ablations (what `m3oe compare
// --models all` runs).
std::vector<std::string> paper_models();
bool is_model_name(const std::string& name);
// "a, b, c": the names, for error messages.
std::string model_names_text();

// Builds the model `name`. The M3oE family reads `m3oe` (with the name's
// ablation applied on top); the baselines read `base`. Throws
// std::invalid_argument for an unknown name, listing the known ones.
std::unique_ptr<RecModel> make_model(const std::string& name, const M3oEConfig& m3oe,
                                     const BaselineConfig& base, Rng& rng);

}  // namespace m3oe::baselines
