// config.hpp: everything that fixes the shape of an M3oE model.
#pragma once

#include "autograd/tensor.hpp"
#include "m3oe/data/dataset.hpp"

#include <string>
#include <vector>

namespace m3oe {

// How the four fusion weights alpha_d, alpha_t, beta_d, beta_t are made.
enum class FusionMode {
  learned,  // sigmoid of trainable raw scalars e_exp_d, e_exp_t, e_bal_d, e_bal_t
  fixed,    // constants (no parameters); 0.5 each is the paper's "w/o AutoML"
};

struct M3oEConfig {
  data::Schema schema;      // features, D = schema.domains.size(), T = schema.tasks.size()
  Index embedding_dim = 16;
  // {STAR out, hidden h, expert dims...}: the official script's [512, 256, 256, 64].
  // f = STAR(x) is [B,512]; h = ReLU(LN(Linear(f))) + skip(x) is [B,256]; each
  // expert is an MLP over fcn_dims[2..] = {256, 64} (one Linear-LN-ReLU block),
  // so fcn_dims[2] must equal fcn_dims[1]; towers work on fcn_dims.back() = 64.
  std::vector<Index> fcn_dims = {512, 256, 256, 64};
  int num_shared_experts = 4;  // N (the released script: 4; the paper on ML-1M: 1)

  FusionMode fusion_mode = FusionMode::learned;
  // Raw initial values of e_exp_d, e_exp_t, e_bal_d, e_bal_t (learned mode);
  // the weights start at sigmoid(1) = 0.731.
  real init_exp_d = 1, init_exp_t = 1, init_bal_d = 1, init_bal_t = 1;
  real fixed_weight = 0.5;  // every fusion weight's value in fixed mode, in [0,1]

  // Ablations of the paper (Sec. 4.4): without the domain module there are no
  // domain experts (and no e_exp_d, e_bal_d); without the task module no task
  // experts (no e_exp_t, e_bal_t). Without both, z = S (shared experts only).
  bool use_domain_module = true;
  bool use_task_module = true;

  int num_domains() const { return schema.num_domains(); }
  int num_tasks() const { return schema.num_tasks(); }
  // Width of x: n_sparse * embedding_dim + n_dense.
  Index input_dim() const;
  // Throws std::invalid_argument describing the first inconsistency.
  void validate() const;

  // The default configuration for a schema.
  static M3oEConfig from_schema(const data::Schema& schema);
};

// The MovieLens-1M schema of the official script (vocabularies of the full data set): sparse user_id 6040,
// movie_id 3706, gender 2, occupation 21, zip 3439, cate_id 18,
// domain_indicator 3; dense age; tasks click, like; domains by age group.
data::Schema ml1m_reference_schema();

}  // namespace m3oe
