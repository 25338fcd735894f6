// sgd.hpp: stochastic gradient descent with momentum, torch.optim.SGD's rule.
//
//   g = grad + weight_decay * p
//   buf = g                                  (first step)
//   buf = momentum * buf + (1 - dampening) * g   (later steps)
//   g = nesterov ? g + momentum * buf : buf  (when momentum != 0)
//   p = p - lr * g
#pragma once

#include "optim/optimizer.hpp"

namespace m3oe::optim {

struct SGDOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening = 0 (as PyTorch)
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  SGD(std::vector<Var> params, double lr, SGDOptions options = {}, double weight_decay = 0.0)
      : SGD({ParamGroup{std::move(params), lr, weight_decay, {}}}, options) {}

 protected:
  void update(Tensor& p, const Tensor& g, Slots& state, const ParamGroup& group) override;
  std::vector<std::pair<std::string, bool>> slot_layout() const override;

 private:
  SGDOptions opt_;
};

}  // namespace m3oe::optim
