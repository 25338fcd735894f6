#include "m3oe/baselines/shared_bottom.hpp"

#include "autograd/ops.hpp"

namespace m3oe::baselines {

SharedBottomNet::SharedBottomNet(const std::vector<Index>& path, int heads, Rng& rng)
    : HeadNet("SharedBottom", heads) {
  bottom_ = &register_module("bottom", std::make_unique<nn::MLP>(path, rng));
  towers_ = fill_towers(register_module("tower", std::make_unique<nn::ModuleList>()), heads,
                        path.back(), rng);
}

Var SharedBottomNet::forward(const Var& x, const std::vector<int>& heads) const try {
  check_heads(heads);
  const Var z = bottom_->forward(x);  // [n,repr]
  std::vector<Var> logits;
  for (int h : heads) logits.push_back(towers_[std::size_t(h)]->forward(z));
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
