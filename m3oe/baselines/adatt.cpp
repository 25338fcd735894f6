#include "m3oe/baselines/adatt.hpp"

#include "autograd/ops.hpp"
#include "layers/init.hpp"

#include <cmath>
#include <stdexcept>

namespace m3oe::baselines {

AdaTTNet::AdaTTNet(const std::vector<Index>& path, int heads, int specific, int shared, Rng& rng)
    : HeadNet(shared > 0 ? "AdaTT" : "AdaTT-sp", heads), specific_(specific), shared_(shared) {
  if (path.size() < 3) throw std::invalid_argument("AdaTT: needs a path of at least 3 widths");
  if (specific < 1) throw std::invalid_argument("AdaTT: needs at least one expert per task unit");
  const std::vector<Index> dims1(path.begin(), path.end() - 1);
  const std::vector<Index> dims2{path[path.size() - 2], path.back()};
  auto& levels = register_module("level", std::make_unique<nn::ModuleList>());
  level1_ = build_level(levels, dims1, false, rng);
  level2_ = build_level(levels, dims2, true, rng);
  towers_ = fill_towers(register_module("tower", std::make_unique<nn::ModuleList>()), heads,
                        path.back(), rng);
}

AdaTTNet::Level AdaTTNet::build_level(nn::ModuleList& levels, const std::vector<Index>& dims,
                                      bool last, Rng& rng) {
  const int U = num_units();
  int total = 0;
  for (int u = 0; u < U; ++u) total += unit_size(u);
  const bool unit_weights = specific_ == 1 && (shared_ == 0 || shared_ == 1);
  // Units with a fusion gate: every task unit, and the shared unit below the last level.
  const int gated = last ? num_heads() : U;

  auto& dict = levels.append(std::make_unique<nn::ModuleDict>());
  Level level;
  auto& experts = dict.insert("expert", std::make_unique<nn::ModuleList>());
  for (int u = 0; u < U; ++u)
    level.experts.push_back(
        fill_experts(experts.append(std::make_unique<nn::ModuleList>()), unit_size(u), dims, rng));
  level.gates = fill_gates(dict.insert("gate", std::make_unique<nn::ModuleList>()), gated,
                           dims.front(), total, rng);
  if (!unit_weights) {
    auto& weights = dict.insert("self_weight", std::make_unique<nn::ParameterList>());
    for (int u = 0; u < gated; ++u) {
      const double bound = std::sqrt(1.0 / unit_size(u));
      level.self_weights.push_back(weights.append(nn::init::uniform(1, unit_size(u), bound, rng)));
    }
  }
  return level;
}

Var AdaTTNet::fuse(const Level& level, int u, const Var& in_u, const Var& all,
                   const std::vector<Var>& own) {
  Var fused = mix_stacked(level.gates[std::size_t(u)]->forward(in_u), all);
  for (std::size_t j = 0; j < own.size(); ++j) {
    const Var residual = level.self_weights.empty()
                             ? own[j]
                             : scale(own[j], slice_cols(level.self_weights[std::size_t(u)], Index(j), 1));
    fused = add(fused, residual);
  }
  return fused;
}

Var AdaTTNet::forward(const Var& x, const std::vector<int>& heads) const try {
  check_heads(heads);
  const int U = num_units();
  // Level 1: every unit reads x; every unit's fused output feeds level 2
  // (level 2's gates mix all its experts, so all its units run).
  std::vector<std::vector<Var>> own1(static_cast<std::size_t>(U));
  std::vector<Var> all1;
  for (int u = 0; u < U; ++u)
    for (nn::MLP* expert : level1_.experts[std::size_t(u)]) {
      own1[std::size_t(u)].push_back(expert->forward(x));
      all1.push_back(own1[std::size_t(u)].back());
    }
  const Var stacked1 = stack_experts(all1);
  std::vector<Var> in2;
  for (int u = 0; u < U; ++u) in2.push_back(fuse(level1_, u, x, stacked1, own1[std::size_t(u)]));

  // Level 2: unit u's experts read in2[u]; only the asked heads are fused.
  std::vector<std::vector<Var>> own2(static_cast<std::size_t>(U));
  std::vector<Var> all2;
  for (int u = 0; u < U; ++u)
    for (nn::MLP* expert : level2_.experts[std::size_t(u)]) {
      own2[std::size_t(u)].push_back(expert->forward(in2[std::size_t(u)]));
      all2.push_back(own2[std::size_t(u)].back());
    }
  const Var stacked2 = stack_experts(all2);
  std::vector<Var> logits;
  for (int h : heads) {
    const Var z = fuse(level2_, h, in2[std::size_t(h)], stacked2, own2[std::size_t(h)]);
    logits.push_back(towers_[std::size_t(h)]->forward(z));
  }
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
