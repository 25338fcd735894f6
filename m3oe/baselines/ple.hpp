// ple.hpp: Progressive Layered Extraction (Tang et al., RecSys 2020), two
// extraction levels of Customized Gate Control (CGC).
//
// Level 1 reads x; each head h has S experts of its own, and M shared
// experts serve all heads:
//   out1_h      = gate1_h(x) . [spec1_h,1..S | shared1_1..M]            head h's output
//   out1_shared = gate1_s(x) . [spec1 of every head | shared1_1..M]     the shared output
// Level 2 reads level 1's outputs: head h's experts read out1_h, the shared
// experts read out1_shared, and
//   z_h = gate2_h(out1_h) . [spec2_h(out1_h) | shared2(out1_shared)],  logit_h = tower_h(z_h)
// where "g . [e_1..e_K]" is sum_k g[:,k] e_k and each gate is
// softmax(Linear). Widths: level 1 experts in -> hidden..., level 2 experts
// hidden.back() -> repr (one path keeps M3oE's widths, config.hpp).
#pragma once

#include "m3oe/baselines/common.hpp"

namespace m3oe::baselines {

class PLENet : public HeadNet {
 public:
  // path = {in, hidden..., repr}, at least 3 widths
  PLENet(const std::vector<Index>& path, int heads, int specific, int shared, Rng& rng);
  Var forward(const Var& x, const std::vector<int>& heads) const override;

 private:
  struct Level {
    std::vector<std::vector<nn::MLP*>> specific;  // [head][k]
    std::vector<nn::MLP*> shared;
    std::vector<nn::Gate*> gates;     // [head]: over own + shared experts
    nn::Gate* shared_gate = nullptr;  // over every expert (level 1 only)
  };
  // Appends one level (experts of widths `dims`, its gates) to `levels`.
  Level build_level(nn::ModuleList& levels, const std::vector<Index>& dims, bool last, Rng& rng);
  // gate . [own experts | shared experts] for head h of a level.
  static Var head_mix(const Level& level, int h, const Var& head_in, const std::vector<Var>& shared_out);

  int specific_, shared_;
  Level level1_, level2_;
  std::vector<nn::Tower*> towers_;
};

}  // namespace m3oe::baselines
