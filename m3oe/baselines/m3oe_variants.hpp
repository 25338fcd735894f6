// m3oe_variants.hpp: the two M3oE ablations of the paper (Sec. 4.4) that
// change how the three modules are combined. Everything up to the experts
// is M3oE's (same layers, same parameter names: m3oe/model.hpp):
//
//   x -> STAR -> h -> N shared experts, D domain experts, T task experts
//
// and then, for a row of domain d and task t:
//
//   concat  "concatenated modules": S, Dm, Tm as in M3oE (gate over the
//           shared experts; first-level fusion with beta_d, beta_t), but
//           instead of z = S + alpha_d Dm + alpha_t Tm the three are
//           concatenated and projected back by a Linear of the cell:
//             z = [S | Dm | Tm] P_{d,t} + c_{d,t}          [n,3*64] -> [n,64]
//           There is no alpha; beta_d, beta_t stay (learned as in M3oE, or
//           fixed with automl = fixed).
//   gated   "fully gated modules": one softmax gate per cell over ALL
//           experts, no alpha and no beta:
//             z = sum_k softmax(Linear_{d,t}(stopgrad(h)))_k e_k,
//             e = [shared_1..N | domain_1..D | task_1..T]
//
// The gates read stopgrad(h) like M3oE's (detach_gate_input; the gradient
// check turns it off to compare every parameter with finite differences).
#pragma once

#include "layers/blocks.hpp"
#include "layers/linear.hpp"
#include "layers/star.hpp"
#include "m3oe/config.hpp"
#include "m3oe/feature_embedder.hpp"
#include "m3oe/model_interface.hpp"

namespace m3oe::baselines {

enum class M3oEVariantKind { concat, gated };

class M3oEVariant : public RecModel {
 public:
  M3oEVariant(const M3oEConfig& config, M3oEVariantKind kind, Rng& rng,
              bool detach_gate_input = true);
  ModelOutput forward(const data::Batch& batch) const override;
  int num_domains() const override { return D_; }
  int num_tasks() const override { return T_; }
  // concat: e_bal_d and e_bal_t (learned mode); gated: none.
  std::vector<Var> structure_parameters() const override;
  bool has_fusion_weights() const override { return kind_ == M3oEVariantKind::concat; }
  // concat: beta_d, beta_t (alpha_d = alpha_t = 0: there is no alpha).
  FusionWeights fusion_weights() const override;

  M3oEVariantKind kind() const { return kind_; }

 private:
  Var beta(const Var& raw) const;  // sigmoid(raw), or the fixed value
  Var domain_logits(int d, const Var& h, const Var& h_gate, const IndexList& rows) const;

  M3oEConfig config_;
  M3oEVariantKind kind_;
  bool detach_;
  int D_, T_, N_;
  Var e_bal_d_, e_bal_t_;  // concat, learned mode only
  nn::FeatureEmbedder* embedding_;
  nn::StarDomainLayer* star_;
  nn::MLP* star_mlp_;
  nn::MLP* skip_conn_;
  std::vector<nn::MLP*> shared_experts_, domain_experts_, task_experts_;
  std::vector<nn::Gate*> gates_;       // index t * D + d, as M3oE
  std::vector<nn::Linear*> project_;   // concat: index t * D + d
  std::vector<nn::Tower*> towers_;     // index t * D + d
};

}  // namespace m3oe::baselines
