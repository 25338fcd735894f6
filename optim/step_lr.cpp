#include "optim/step_lr.hpp"

#include <cmath>
#include <stdexcept>

namespace m3oe::optim {

StepLR::StepLR(Optimizer& optimizer, int step_size, double gamma)
    : opt_(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size_ < 1) throw std::invalid_argument("StepLR: step_size must be >= 1");
  if (!(gamma_ > 0)) throw std::invalid_argument("StepLR: gamma must be > 0");
  for (const auto& g : opt_.param_groups()) base_lrs_.push_back(g.lr);
}

void StepLR::apply() {
  const double factor = std::pow(gamma_, epoch_ / step_size_);
  auto& groups = opt_.param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = base_lrs_[i] * factor;
}

void StepLR::step() {
  ++epoch_;
  apply();
}

void StepLR::set_last_epoch(int epoch) {
  if (epoch < 0) throw std::invalid_argument("StepLR: epoch must be >= 0");
  epoch_ = epoch;
  apply();
}

}  // namespace m3oe::optim
