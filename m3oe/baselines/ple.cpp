#include "m3oe/baselines/ple.hpp"

#include "autograd/ops.hpp"

#include <stdexcept>

namespace m3oe::baselines {

PLENet::PLENet(const std::vector<Index>& path, int heads, int specific, int shared, Rng& rng)
    : HeadNet("PLE", heads), specific_(specific), shared_(shared) {
  if (path.size() < 3) throw std::invalid_argument("PLE: needs a path of at least 3 widths");
  const std::vector<Index> dims1(path.begin(), path.end() - 1);     // in -> hidden...
  const std::vector<Index> dims2{path[path.size() - 2], path.back()};  // hidden.back() -> repr
  auto& levels = register_module("level", std::make_unique<nn::ModuleList>());
  level1_ = build_level(levels, dims1, false, rng);
  level2_ = build_level(levels, dims2, true, rng);
  towers_ = fill_towers(register_module("tower", std::make_unique<nn::ModuleList>()), heads,
                        path.back(), rng);
}

PLENet::Level PLENet::build_level(nn::ModuleList& levels, const std::vector<Index>& dims, bool last,
                                  Rng& rng) {
  const int H = num_heads();
  auto& dict = levels.append(std::make_unique<nn::ModuleDict>());
  Level level;
  auto& spec = dict.insert("specific", std::make_unique<nn::ModuleList>());
  for (int h = 0; h < H; ++h)
    level.specific.push_back(
        fill_experts(spec.append(std::make_unique<nn::ModuleList>()), specific_, dims, rng));
  level.shared = fill_experts(dict.insert("shared", std::make_unique<nn::ModuleList>()), shared_, dims, rng);
  level.gates = fill_gates(dict.insert("gate", std::make_unique<nn::ModuleList>()), H, dims.front(),
                           specific_ + shared_, rng);
  if (!last)
    level.shared_gate = &dict.insert(
        "shared_gate", std::make_unique<nn::Gate>(dims.front(), H * specific_ + shared_, rng));
  return level;
}

Var PLENet::head_mix(const Level& level, int h, const Var& head_in, const std::vector<Var>& shared_out) {
  std::vector<Var> e;
  for (nn::MLP* expert : level.specific[std::size_t(h)]) e.push_back(expert->forward(head_in));
  e.insert(e.end(), shared_out.begin(), shared_out.end());
  return mix(level.gates[std::size_t(h)]->forward(head_in), e);
}

Var PLENet::forward(const Var& x, const std::vector<int>& heads) const try {
  check_heads(heads);
  const int H = num_heads();
  // Level 1: every expert reads x. The shared gate mixes all of them, so all
  // heads' experts run; the heads' own mixes are needed only for `heads`.
  std::vector<Var> all1, shared1;
  std::vector<std::vector<Var>> spec1(static_cast<std::size_t>(H));
  for (int h = 0; h < H; ++h)
    for (nn::MLP* expert : level1_.specific[std::size_t(h)]) {
      spec1[std::size_t(h)].push_back(expert->forward(x));
      all1.push_back(spec1[std::size_t(h)].back());
    }
  for (nn::MLP* expert : level1_.shared) shared1.push_back(expert->forward(x));
  all1.insert(all1.end(), shared1.begin(), shared1.end());
  const Var out1_shared = mix(level1_.shared_gate->forward(x), all1);

  // Level 2: the shared experts read the shared output, head h's read out1_h.
  std::vector<Var> shared2;
  for (nn::MLP* expert : level2_.shared) shared2.push_back(expert->forward(out1_shared));
  std::vector<Var> logits;
  for (int h : heads) {
    std::vector<Var> e1 = spec1[std::size_t(h)];
    e1.insert(e1.end(), shared1.begin(), shared1.end());
    const Var out1_h = mix(level1_.gates[std::size_t(h)]->forward(x), e1);
    const Var z = head_mix(level2_, h, out1_h, shared2);
    logits.push_back(towers_[std::size_t(h)]->forward(z));
  }
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
