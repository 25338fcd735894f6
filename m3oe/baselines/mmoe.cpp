#include "m3oe/baselines/mmoe.hpp"

#include "autograd/ops.hpp"

namespace m3oe::baselines {

MMoENet::MMoENet(const std::vector<Index>& path, int heads, int experts, Rng& rng)
    : HeadNet("MMoE", heads) {
  experts_ = fill_experts(register_module("expert", std::make_unique<nn::ModuleList>()), experts,
                          path, rng);
  gates_ = fill_gates(register_module("gate", std::make_unique<nn::ModuleList>()), heads,
                      path.front(), experts, rng);
  towers_ = fill_towers(register_module("tower", std::make_unique<nn::ModuleList>()), heads,
                        path.back(), rng);
}

Var MMoENet::forward(const Var& x, const std::vector<int>& heads) const try {
  check_heads(heads);
  std::vector<Var> e;  // K x [n,repr]
  for (nn::MLP* expert : experts_) e.push_back(expert->forward(x));
  const Var stacked = stack_experts(e);  // [n,K*repr], mixed by every head's gate
  std::vector<Var> logits;
  for (int h : heads) {
    const Var z = mix_stacked(gates_[std::size_t(h)]->forward(x), stacked);
    logits.push_back(towers_[std::size_t(h)]->forward(z));
  }
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
