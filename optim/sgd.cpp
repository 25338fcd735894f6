#include "optim/sgd.hpp"

#include <stdexcept>

namespace m3oe::optim {

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups)), opt_(options) {
  if (!(opt_.momentum >= 0)) throw std::invalid_argument("SGD: momentum must be >= 0");
  if (opt_.nesterov && (opt_.momentum <= 0 || opt_.dampening != 0))
    throw std::invalid_argument("SGD: nesterov needs momentum > 0 and dampening = 0");
}

std::vector<std::pair<std::string, bool>> SGD::slot_layout() const {
  if (opt_.momentum == 0) return {};
  return {{"momentum_buffer", false}};
}

void SGD::update(Tensor& p, const Tensor& g, Slots& state, const ParamGroup& group) {
  Tensor d = g;
  if (group.weight_decay != 0) d += static_cast<real>(group.weight_decay) * p;
  if (opt_.momentum != 0) {
    if (state.empty()) {
      state.tensors.emplace_back("momentum_buffer", d);
    } else {
      Tensor& buf = state.at("momentum_buffer");
      buf = static_cast<real>(opt_.momentum) * buf + static_cast<real>(1 - opt_.dampening) * d;
    }
    const Tensor& buf = state.at("momentum_buffer");
    if (opt_.nesterov) d += static_cast<real>(opt_.momentum) * buf;
    else d = buf;
  }
  p -= static_cast<real>(group.lr) * d;
}

}  // namespace m3oe::optim
