#include "optim/adam.hpp"

#include <cmath>
#include <stdexcept>

namespace m3oe::optim {

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam(std::move(groups), options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(std::move(groups)), opt_(options), decoupled_(decoupled) {
  const char* name = decoupled ? "AdamW" : "Adam";
  if (!(opt_.beta1 >= 0 && opt_.beta1 < 1) || !(opt_.beta2 >= 0 && opt_.beta2 < 1))
    throw std::invalid_argument(std::string(name) + ": betas must lie in [0,1)");
  if (!(opt_.eps >= 0)) throw std::invalid_argument(std::string(name) + ": eps must be >= 0");
}

std::vector<std::pair<std::string, bool>> Adam::slot_layout() const {
  return {{"step", true}, {"exp_avg", false}, {"exp_avg_sq", false}};
}

void Adam::update(Tensor& p, const Tensor& grad, Slots& state, const ParamGroup& group) {
  if (state.empty()) {
    state.tensors.emplace_back("step", Tensor::Zero(1, 1));
    state.tensors.emplace_back("exp_avg", Tensor::Zero(p.rows(), p.cols()));
    state.tensors.emplace_back("exp_avg_sq", Tensor::Zero(p.rows(), p.cols()));
  }
  Tensor& step_t = state.at("step");
  step_t(0, 0) += 1;
  const double step = static_cast<double>(step_t(0, 0));

  const real wd = static_cast<real>(group.weight_decay);
  auto pa = p.array();
  if (decoupled_ && group.weight_decay != 0)
    pa *= static_cast<real>(1 - group.lr * group.weight_decay);

  auto m = state.at("exp_avg").array();
  auto v = state.at("exp_avg_sq").array();
  const real b1 = static_cast<real>(opt_.beta1), b2 = static_cast<real>(opt_.beta2);
  const real c1 = static_cast<real>(1 - opt_.beta1), c2 = static_cast<real>(1 - opt_.beta2);
  if (!decoupled_ && group.weight_decay != 0) {
    const auto g = grad.array() + wd * pa;
    m = m * b1 + g * c1;
    v = v * b2 + c2 * g * g;
  } else {
    const auto g = grad.array();
    m = m * b1 + g * c1;
    v = v * b2 + c2 * g * g;
  }
  // The scalars in double, as PyTorch computes them in Python.
  const double bias_correction1 = 1 - std::pow(opt_.beta1, step);
  const double bias_correction2 = 1 - std::pow(opt_.beta2, step);
  const real step_size = static_cast<real>(group.lr / bias_correction1);
  const real bc2_sqrt = static_cast<real>(std::sqrt(bias_correction2));
  const real eps = static_cast<real>(opt_.eps);
  pa -= step_size * (m / (v.sqrt() / bc2_sqrt + eps));
}

}  // namespace m3oe::optim
