// m2m.hpp: M2M, multi-scenario multi-task meta learning (Zhang et al.,
// WSDM 2022, "Leaving No One Behind"), with the simplifications written in
// docs/baselines.md.
//
// Scenario knowledge is a learned embedding s_d of the row's domain [1,r];
// task knowledge a learned embedding t_t [1,r]. A "meta unit" is a layer
// whose weights are generated from s_d:
//
//   W(s) = W_0 + sum_j s_j V_j,   b(s) = b_0 + s B          (MetaLinear)
//
// (the paper's Reshape(V s) + bias, written as a sum of r basis matrices).
// For a row of domain d and each task t:
//   e_k   = expert_k(x)                                     K experts [n,repr]
//   a_k   = v . ReLU([e_k | t_t] W_att(s_d) + b_att(s_d))   meta attention score [n,1]
//   r     = sum_k softmax(a)_k e_k                          [n,repr]
//   h_0   = r;  h_{l+1} = ReLU(h_l W^t_l(s_d) + b^t_l(s_d)) + h_l   meta tower of task t
//   logit = h_L w_t + c_t
// The paper's experts are transformer layers over behaviour sequences; this
// data has no sequences, so the experts are MLPs over x like every other
// model's. Since s_d is the same for all rows of a domain, each meta unit's
// weights are formed once per domain and batch.
#pragma once

#include "layers/linear.hpp"
#include "m3oe/baselines/common.hpp"
#include "m3oe/baselines/config.hpp"
#include "m3oe/feature_embedder.hpp"

namespace m3oe::baselines {

// A linear layer in -> out whose weight and bias are generated from a
// condition vector s [1,r]: "base_weight" W_0 [in,out], "basis.j" V_j
// [in,out], "base_bias" b_0 [1,out], "bias_basis" B [r,out].
class MetaLinear : public nn::Module {
 public:
  MetaLinear(Index in, Index out, Index cond_dim, Rng& rng);
  // The generated weight [in,out] and bias [1,out] for condition s [1,r].
  std::pair<Var, Var> generate(const Var& s) const;

 private:
  Var base_weight_, base_bias_, bias_basis_;
  nn::ParameterList* basis_;
};

class M2M : public RecModel {
 public:
  M2M(const BaselineConfig& config, Rng& rng);
  ModelOutput forward(const data::Batch& batch) const override;
  int num_domains() const override { return D_; }
  int num_tasks() const override { return T_; }

 private:
  Var domain_logits(int d, const Var& x) const;  // x: domain d's rows [n_d,in]

  int D_, T_;
  nn::FeatureEmbedder* embedding_;
  nn::Embedding* scenario_;  // [D,r]
  nn::Embedding* task_;      // [T,r]
  std::vector<nn::MLP*> experts_;
  MetaLinear* attention_;  // [repr + r] -> repr
  Var attention_v_;        // [repr,1]
  std::vector<std::vector<MetaLinear*>> tower_;  // [task][layer] repr -> repr
  std::vector<nn::Linear*> output_;              // [task] repr -> 1
};

}  // namespace m3oe::baselines
