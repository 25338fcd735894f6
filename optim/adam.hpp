// adam.hpp: Adam and AdamW with torch.optim's (1.13) update rule.
//
// Per parameter, with step count s (from 1), m and v starting at 0:
//   Adam:  g = grad + weight_decay * p          (L2 decay, added to the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)       (decoupled decay), g = grad
//   m = beta1 m + (1 - beta1) g
//   v = beta2 v + (1 - beta2) g^2
//   step_size = lr / (1 - beta1^s)
//   denom     = sqrt(v) / sqrt(1 - beta2^s) + eps
//   p = p - step_size * m / denom
// State slots: "step" [1,1], "exp_avg" (m), "exp_avg_sq" (v).
#pragma once

#include "optim/optimizer.hpp"

namespace m3oe::optim {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
  Adam(std::vector<Var> params, double lr, double weight_decay = 0.0, AdamOptions options = {})
      : Adam({ParamGroup{std::move(params), lr, weight_decay, {}}}, options) {}

 protected:
  Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);
  void update(Tensor& p, const Tensor& g, Slots& state, const ParamGroup& group) override;
  std::vector<std::pair<std::string, bool>> slot_layout() const override;

 private:
  AdamOptions opt_;
  bool decoupled_;  // AdamW
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = {}) : Adam(std::move(groups), options, true) {}
  AdamW(std::vector<Var> params, double lr, double weight_decay = 1e-2, AdamOptions options = {})
      : AdamW({ParamGroup{std::move(params), lr, weight_decay, {}}}, options) {}
};

}  // namespace m3oe::optim
