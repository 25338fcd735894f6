// adatt.hpp: AdaTT, Adaptive Task-to-Task Fusion Network (Li et al., KDD 2023).
//
// Each head h (a "task") has a unit of S experts of its own; with shared
// experts (AdaTT, "with shared unit") one more unit of M shared experts
// joins; without them (AdaTT-sp, task-specific units only) there is none.
// At each of two levels, unit u's experts read unit u's input (x at level 1)
// and every unit's output fuses ALL experts of the level:
//
//   E        = [every expert of every unit]                    (K experts, [n,w] each)
//   fused_u  = softmax(in_u W_u + b_u) . E                     adaptive task-to-task fusion
//            + sum_{j in u} r_uj * E_j                          residual of the unit's own experts
//
// r_uj = 1 when every unit has a single expert; otherwise r_u is a learned
// row [1,n_u] ("self_weight", U(+-sqrt(1/n_u)) as the authors' code). The
// shared unit has a fusion gate too, except on the last level (its output
// would feed nothing). Head h's last-level output goes to its tower.
// Widths: level 1 experts in -> hidden..., level 2 hidden.back() -> repr.
#pragma once

#include "m3oe/baselines/common.hpp"

namespace m3oe::baselines {

class AdaTTNet : public HeadNet {
 public:
  // path = {in, hidden..., repr}; shared = 0 gives AdaTT-sp.
  AdaTTNet(const std::vector<Index>& path, int heads, int specific, int shared, Rng& rng);
  Var forward(const Var& x, const std::vector<int>& heads) const override;

  int num_units() const { return num_heads() + (shared_ > 0 ? 1 : 0); }

 private:
  struct Level {
    std::vector<std::vector<nn::MLP*>> experts;  // [unit][k]; the shared unit last
    std::vector<nn::Gate*> gates;                // [unit] over all experts of the level
    std::vector<Var> self_weights;               // [unit] [1,n_u]; empty for unit weights
  };
  Level build_level(nn::ModuleList& levels, const std::vector<Index>& dims, bool last, Rng& rng);
  int unit_size(int u) const { return u < num_heads() ? specific_ : shared_; }
  // fused_u of one level: gate over all experts (stacked [n,K*w]), plus unit
  // u's own experts `own`.
  static Var fuse(const Level& level, int u, const Var& in_u, const Var& all,
                  const std::vector<Var>& own);

  int specific_, shared_;
  Level level1_, level2_;
  std::vector<nn::Tower*> towers_;
};

}  // namespace m3oe::baselines
