// step_lr.hpp: torch.optim.lr_scheduler.StepLR.
//
// Call step() once per epoch, after that epoch's optimizer steps. After e
// calls every group's lr is base_lr * gamma^floor(e / step_size) (computed in
// closed form, so it does not drift). The official script uses step_size 4,
// gamma 0.85.
#pragma once

#include "optim/optimizer.hpp"

namespace m3oe::optim {

class StepLR {
 public:
  // Reads each group's current lr as its base lr.
  StepLR(Optimizer& optimizer, int step_size, double gamma);
  void step();
  int last_epoch() const { return epoch_; }
  // For resuming: sets the epoch count and the lrs that go with it.
  void set_last_epoch(int epoch);

 private:
  void apply();
  Optimizer& opt_;
  int step_size_;
  double gamma_;
  int epoch_ = 0;
  std::vector<double> base_lrs_;
};

}  // namespace m3oe::optim
