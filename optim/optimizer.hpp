// optimizer.hpp: the base of the optimizers, after torch.optim.Optimizer.
//
// An optimizer updates parameter groups in place. Each group has its own
// learning rate and weight decay (e.g. the M3oE weights and the four AutoML
// structure weights). Hyper-parameters are doubles like PyTorch's Python
// floats; the per-step scalars are computed in double and the tensor updates
// run in the library's precision.
//
// A parameter whose gradient is absent (never accumulated, or cleared by
// zero_grad, which clears to "none") is skipped by step(), exactly as PyTorch
// skips p.grad is None: no decay, no moment update, no step count.
//
// State (moments, step counts, each group's lr) is saved as named tensors for
// checkpoints: "group<g>.lr", "group<g>.param<i>.<slot>".
#pragma once

#include "autograd/node.hpp"
#include "layers/named_tensors.hpp"

#include <string>
#include <vector>

namespace m3oe::optim {

struct ParamGroup {
  std::vector<Var> params;
  double lr = 1e-3;
  double weight_decay = 0.0;
  std::string name;  // optional, for messages ("weights", "structure")
};

class Optimizer {
 public:
  // Throws std::invalid_argument for a parameter listed twice (in one group
  // or across groups), a parameter that does not require grad, or a negative
  // lr or weight decay.
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient. The parameters are
  // updated in parallel (num_threads(), from kParallelStepMin values in all);
  // an exception of an update is rethrown after the others have finished.
  void step();
  static constexpr Index kParallelStepMin = 1 << 16;
  // Clears every parameter's gradient (to "none").
  void zero_grad();

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  NamedTensors state_dict() const;
  // Restores a state_dict() of an optimizer of the same kind over the same
  // parameter shapes; throws std::invalid_argument listing unknown names and
  // shape mismatches, changing nothing then.
  void load_state_dict(const NamedTensors& state);

 protected:
  // The per-parameter state: named slots ("step", "exp_avg", ...); empty
  // until the parameter's first update.
  struct Slots {
    NamedTensors tensors;
    Tensor& at(const std::string& slot);
    bool empty() const { return tensors.empty(); }
  };
  // Updates one parameter: value p, gradient g, its state, its group. Called
  // for several parameters at once from different threads: it may touch only
  // its own arguments.
  virtual void update(Tensor& p, const Tensor& g, Slots& state, const ParamGroup& group) = 0;
  // The slot names and whether a slot is a [1,1] counter or shaped like the parameter.
  virtual std::vector<std::pair<std::string, bool>> slot_layout() const = 0;

 private:
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<Slots>> state_;  // [group][param]
};

}  // namespace m3oe::optim
