// config.hpp: the sizes of every baseline model (docs/baselines.md says why
// these sizes).
//
// Every prediction path runs through the same widths as M3oE's path
// x -> f (512) -> h (256) -> expert (64) -> tower:
//
//   x [B,in] -> hidden[0] -> hidden[1] -> ... -> repr -> tower (repr -> repr -> 1)
//
// so a baseline differs from M3oE in how it shares and mixes, not in how
// deep or wide one path is. Models with two levels of experts (PLE, AdaTT)
// split the same path: level 1 is in -> hidden..., level 2 is
// hidden.back() -> repr.
#pragma once

#include "m3oe/data/dataset.hpp"

#include <vector>

namespace m3oe::baselines {

struct BaselineConfig {
  data::Schema schema;                     // D domains, T tasks, the features
  Index embedding_dim = 16;                // per sparse feature, as M3oE
  std::vector<Index> hidden = {512, 256};  // widths between x and the representation
  Index repr_dim = 64;                     // bottom / expert output = tower input
  int experts = 4;           // MMoE and M2M experts (M3oE's N shared experts)
  int specific_experts = 1;  // PLE and AdaTT: experts of each head, per level
  int shared_experts = 1;    // PLE and AdaTT (with shared unit): shared experts per level
  // STAR (Sheng et al. 2021): partitioned normalisation of x, auxiliary network.
  bool star_partitioned_norm = true;
  bool star_auxiliary = true;
  Index star_aux_hidden = 64;
  // M2M (Zhang et al. 2022): size of the scenario and task embeddings that
  // generate the meta layers' weights, and the number of meta tower layers.
  Index meta_dim = 16;
  int meta_tower_layers = 2;

  int num_domains() const { return schema.num_domains(); }
  int num_tasks() const { return schema.num_tasks(); }
  // Width of x: n_sparse * embedding_dim + n_dense (as M3oEConfig::input_dim).
  Index input_dim() const;
  // The widths of one full path: {in, hidden..., repr}.
  std::vector<Index> path_dims() const;
  // Throws std::invalid_argument describing the first inconsistency.
  void validate() const;
};

}  // namespace m3oe::baselines
