// model.hpp: the M3oE model (Zhang et al., SIGIR 2024), layer by layer as in
// docs/model.md and /shared/docs/m3oe-reference.md.
//
//   x = embed(batch)                                  [B, in]
//   f = STAR_d(x)            (row's domain d)         [B, 512]
//   h = ReLU(LN(Linear(f))) + ReLU(LN(Linear(x)))     [B, 256]
//   shared_k, dom_j, task_t = experts(h)              [B, 64] each
//   for a row of domain d and each task t:
//     gate = softmax(Linear(stopgrad(h)))             [N]
//     S    = sum_k gate_k shared_k
//     Dm   = beta_d dom_d + (1-beta_d)/(D-1) sum_{j!=d} dom_j   (Dm = dom_d if D = 1)
//     Tm   = beta_t task_t + (1-beta_t)/(T-1) sum_{s!=t} task_s (Tm = task_t if T = 1)
//     z    = S + alpha_d Dm + alpha_t Tm
//     logit[t] = tower_{d,t}(z)
// Everything after the embedding is computed per domain on that domain's
// rows only (gather, compute, scatter the [n_d,T] logits back). The hot path
// is fused (docs/model.md, "The hot path"): each Linear-LayerNorm-ReLU block
// is one linear_ln_relu op, the N+D+T experts are one grouped op on h, and
// the sums S + alpha_d Dm + alpha_t Tm are one mix_experts op per cell.
//
// Parameter names (PyTorch's naming; scripts/parity_reference.py uses the
// same ones): e_exp_d, e_exp_t, e_bal_d, e_bal_t, embedding.embed_dict.<feature>.weight,
// star.{shared_weight,shared_bias,slot_weight.d,slot_bias.d},
// star_mlp.domain_specific.{0,1}.*, skip_conn.domain_specific.{0,1}.*,
// expert.k.*, domain_expert.d.*, task_expert.t.*, gate.i.0.*, tower.i.{0,1,3}.*
// with cell index i = t * D + d (the authors' order).
#pragma once

#include "layers/blocks.hpp"
#include "layers/star.hpp"
#include "m3oe/config.hpp"
#include "m3oe/feature_embedder.hpp"
#include "m3oe/model_interface.hpp"

#include <vector>

namespace m3oe {

// M3oE's output is the common ModelOutput (m3oe/model_interface.hpp).
using M3oEOutput = ModelOutput;

class M3oE : public RecModel {
 public:
  M3oE(const M3oEConfig& config, Rng& rng);

  // One forward pass. With gradients on (the default) the result is part of
  // a graph reaching every parameter; call under NoGradGuard for inference.
  M3oEOutput forward(const data::Batch& batch) const override;
  // The parameter-only values of a forward (RecModel::precompute), and a
  // forward that reuses them: infer_probs runs its slices this way.
  std::unique_ptr<const Precomputed> precompute() const override;
  M3oEOutput forward_with(const data::Batch& batch, const Precomputed* pre) const override;

  const M3oEConfig& config() const { return config_; }
  int num_domains() const override { return D_; }
  int num_tasks() const override { return T_; }
  bool has_fusion_weights() const override { return true; }
  FusionWeights fusion_weights() const override;
  // The AutoML ("structure") parameters: the e_* scalars present (none in
  // fixed mode), and all other parameters; the two lists split parameters().
  std::vector<Var> structure_parameters() const override;
  std::vector<Var> weight_parameters() const override;
  // True for the names of structure parameters.
  static bool is_structure_name(const std::string& name);

 private:
  // The fusion weights as [1,1] Vars of this forward (constants when fixed).
  struct Weights {
    Var alpha_d, alpha_t, beta_d, beta_t;
  };
  Weights weights() const;
  Var fusion_weight(const Var& raw) const;
  // All experts (shared, then domain, then task ones) as one op on h[n,256]:
  // their blocks side by side, [n, G*64] (docs/model.md, "The hot path").
  struct ExpertBank {
    Var weight, bias, gamma, beta;  // concatenated per-expert parameters
    int groups = 0;                 // G experts
  };
  ExpertBank expert_bank() const;
  Var experts_forward(const ExpertBank& bank, const Var& h) const;
  // The fusion weights of the domain (or task) experts as mixing
  // coefficients [1,D] for domain d (or [1,T] for task t): alpha * beta for
  // the own expert, alpha * (1-beta)/(n-1) for each other one (Eq. 5-7).
  static Var balance_coefficients(int n, int own, const Var& alpha, const Var& beta);
  // Everything a forward computes from the parameters alone, once per
  // forward (or once per infer_probs call, shared by its slices).
  struct Derived final : Precomputed {
    ExpertBank bank;
    std::vector<nn::StarDomainLayer::DomainWeights> star;  // D: W_d ⊙ W_sh, b_d + b_sh
    // Per cell t * D + d: the fixed mixing coefficients [1, D+T] of the
    // domain and task experts (domain part, then task part; either part
    // absent when its module is ablated; undefined when both are).
    std::vector<Var> coefficients;
  };
  Derived derive() const;
  M3oEOutput forward_derived(const data::Batch& batch, const Derived& derived) const;
  // The rows of one domain, from its inputs x_d[n_d,in] to [n_d,T] logits
  // (gates written into out).
  Var domain_logits(int d, const Var& x_d, const Derived& derived, M3oEOutput& out) const;

  M3oEConfig config_;
  int D_, T_, N_;
  Var e_exp_d_, e_exp_t_, e_bal_d_, e_bal_t_;  // undefined when absent
  nn::FeatureEmbedder* embedding_;
  nn::StarDomainLayer* star_;
  nn::MLP* star_mlp_;
  nn::MLP* skip_conn_;
  std::vector<nn::MLP*> shared_experts_, domain_experts_, task_experts_;
  std::vector<nn::Gate*> gates_;    // index t * D + d
  std::vector<nn::Tower*> towers_;  // index t * D + d
};

}  // namespace m3oe
