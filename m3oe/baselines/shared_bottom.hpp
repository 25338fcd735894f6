// shared_bottom.hpp: Shared-Bottom (Caruana 1997), the plainest multi-task
// network: one bottom MLP for all heads, one tower per head.
//
//   z       = bottom(x)          MLP in -> hidden... -> repr   [n,repr]
//   logit_h = tower_h(z)         Linear-LN-ReLU-Linear          [n,1]
//
// With one head this is a single-task MLP; "mlp" (one model per
// (domain, task) cell, paper Table 2) is exactly that, run per cell
// (run_modes.hpp).
#pragma once

#include "m3oe/baselines/common.hpp"

namespace m3oe::baselines {

class SharedBottomNet : public HeadNet {
 public:
  // path = {in, hidden..., repr}
  SharedBottomNet(const std::vector<Index>& path, int heads, Rng& rng);
  Var forward(const Var& x, const std::vector<int>& heads) const override;

 private:
  nn::MLP* bottom_;
  std::vector<nn::Tower*> towers_;
};

}  // namespace m3oe::baselines
