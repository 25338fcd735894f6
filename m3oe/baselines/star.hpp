// star.hpp: STAR, the Star Topology Adaptive Recommender (Sheng et al.,
// CIKM 2021), with one output per task.
//
// For a row x of domain d:
//   1. partitioned normalisation (PN, optional): batch normalisation with
//      statistics of domain d's rows, scale and shift (gamma ⊙ gamma_d),
//      (beta + beta_d); at inference, domain d's moving averages
//        x' = (gamma ⊙ gamma_d) (x - mu_d) / sqrt(var_d + eps) + beta + beta_d
//   2. star topology FCN: each layer's weight is the shared weight times
//      domain d's, elementwise, its bias the sum
//        h_{l+1} = ReLU(LN(h_l (W_l ⊙ W_l^d) + b_l + b_l^d))     in -> hidden... -> repr
//      and an output layer of the same form repr -> T (one logit per task)
//   3. auxiliary network (optional): a small MLP over [x | e_d], e_d a
//      domain embedding, whose T logits are added to the FCN's:
//        logit = FCN_d(x') + Linear(ReLU(Linear([x | e_d])))
//
// Domain weights start at 1 and domain biases at 0, so every domain starts
// as the shared network. The LayerNorm after each hidden layer is the same
// Linear-LN-ReLU block every other model here uses (docs/baselines.md).
#pragma once

#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "m3oe/baselines/common.hpp"
#include "m3oe/baselines/config.hpp"
#include "m3oe/feature_embedder.hpp"

namespace m3oe::baselines {

// One star-topology fully connected layer: for domain d,
// y = x (W ⊙ W_d) + b + b_d. W, b shared ("shared_weight", "shared_bias");
// W_d, b_d per domain ("domain_weight.d", "domain_bias.d").
class StarLinear : public nn::Module {
 public:
  StarLinear(Index in, Index out, int domains, Rng& rng);
  // x[n,in], all rows of domain d -> [n,out]
  Var forward(const Var& x, int d) const;

 private:
  Var shared_weight_, shared_bias_;
  nn::ParameterList* domain_weight_;
  nn::ParameterList* domain_bias_;
};

// Partitioned normalisation of [n,in] rows of one domain. The moving
// averages "running_mean.d", "running_var.d" are saved with the model but
// not trained (requires_grad = false).
class PartitionedNorm : public nn::Module {
 public:
  PartitionedNorm(Index features, int domains, double momentum = 0.1, double eps = 1e-5);
  // Training mode: normalises with the rows' own mean and (biased) variance
  // and updates domain d's moving averages; eval mode: uses the averages.
  Var forward(const Var& x, int d) const;

 private:
  double momentum_, eps_;
  Var gamma_, beta_;
  nn::ParameterList *domain_gamma_, *domain_beta_, *running_mean_, *running_var_;
};

class Star : public RecModel {
 public:
  Star(const BaselineConfig& config, Rng& rng);
  ModelOutput forward(const data::Batch& batch) const override;
  int num_domains() const override { return D_; }
  int num_tasks() const override { return T_; }

 private:
  Var domain_logits(int d, const Var& x) const;  // x: domain d's rows [n_d,in]

  int D_, T_;
  nn::FeatureEmbedder* embedding_;
  PartitionedNorm* norm_ = nullptr;
  std::vector<StarLinear*> layers_;  // hidden layers, then the output layer
  std::vector<nn::LayerNorm*> layer_norms_;
  nn::Embedding* aux_domain_ = nullptr;
  nn::Linear* aux_hidden_ = nullptr;
  nn::Linear* aux_out_ = nullptr;
};

}  // namespace m3oe::baselines
