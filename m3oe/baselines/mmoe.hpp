// mmoe.hpp: Multi-gate Mixture-of-Experts (Ma et al., KDD 2018).
//
//   e_k     = expert_k(x)                 K experts, MLP in -> ... -> repr  [n,repr]
//   g_h     = softmax(x W_h + b_h)        one gate per head                [n,K]
//   z_h     = sum_k g_h[:,k] * e_k                                         [n,repr]
//   logit_h = tower_h(z_h)                                                 [n,1]
//
// The gates read x itself (the embedding), as in the paper.
#pragma once

#include "m3oe/baselines/common.hpp"

namespace m3oe::baselines {

class MMoENet : public HeadNet {
 public:
  // path = {in, hidden..., repr}: each expert's widths
  MMoENet(const std::vector<Index>& path, int heads, int experts, Rng& rng);
  Var forward(const Var& x, const std::vector<int>& heads) const override;

 private:
  std::vector<nn::MLP*> experts_;
  std::vector<nn::Gate*> gates_;
  std::vector<nn::Tower*> towers_;
};

}  // namespace m3oe::baselines
