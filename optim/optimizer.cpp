#include "optim/optimizer.hpp"

#include "autograd/backend/threads.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>

namespace m3oe::optim {

Tensor& Optimizer::Slots::at(const std::string& slot) {
  for (auto& [name, t] : tensors)
    if (name == slot) return t;
  throw std::logic_error("optimizer state has no slot '" + slot + "'");
}

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  std::set<const Node*> seen;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const std::string where = "optimizer group " + std::to_string(g) +
                              (group.name.empty() ? "" : " ('" + group.name + "')");
    if (!(group.lr >= 0)) throw std::invalid_argument(where + ": lr must be >= 0");
    if (!(group.weight_decay >= 0))
      throw std::invalid_argument(where + ": weight_decay must be >= 0");
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Var& p = group.params[i];
      if (!p.defined()) throw std::invalid_argument(where + ": parameter " + std::to_string(i) + " is undefined");
      if (!p.requires_grad())
        throw std::invalid_argument(where + ": parameter " + std::to_string(i) +
                                    " does not require grad");
      if (!seen.insert(p.node()).second)
        throw std::invalid_argument(where + ": parameter " + std::to_string(i) +
                                    " appears more than once in the optimizer");
    }
    state_.emplace_back(group.params.size());
  }
}

void Optimizer::step() {
  // The updates of different parameters are independent, so they run side by
  // side: one parameter per task, largest first, handed out dynamically (the
  // sizes range from one weight to the embedding tables). A parameter's update
  // is the same elementwise code on whichever thread runs it, so the result
  // does not depend on the thread count. Small models stay on one thread.
  struct Job {
    std::size_t group, index;
    Index size;
  };
  std::vector<Job> jobs;
  Index total = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const Var& p = groups_[g].params[i];
      if (!p.has_grad()) continue;  // PyTorch: p.grad is None
      const Index size = p.cvalue().size();
      jobs.push_back({g, i, size});
      total += size;
    }
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const Job& a, const Job& b) { return a.size > b.size; });
  const int threads = total >= kParallelStepMin ? num_threads() : 1;
  std::vector<std::exception_ptr> errors(jobs.size());
  const auto n = static_cast<std::ptrdiff_t>(jobs.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    const Job& job = jobs[static_cast<std::size_t>(j)];
    try {
      Var p = groups_[job.group].params[job.index];
      update(p.value(), p.grad(), state_[job.group][job.index], groups_[job.group]);
    } catch (...) {
      errors[static_cast<std::size_t>(j)] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void Optimizer::zero_grad() {
  for (auto& group : groups_)
    for (auto& p : group.params) p.zero_grad();
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "group" + std::to_string(g);
    // The lr as a [1,2] pair hi + lo, so a float build restores the double exactly
    // enough (48 bits) for a resumed run to take bit-identical steps.
    Tensor lr(1, 2);
    lr(0, 0) = static_cast<real>(groups_[g].lr);
    lr(0, 1) = static_cast<real>(groups_[g].lr - static_cast<double>(lr(0, 0)));
    out.emplace_back(prefix + ".lr", lr);
    for (std::size_t i = 0; i < state_[g].size(); ++i)
      for (const auto& [slot, t] : state_[g][i].tensors)
        out.emplace_back(prefix + ".param" + std::to_string(i) + "." + slot, t);
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  // Expected names and shapes.
  std::map<std::string, std::pair<Index, Index>> expected;
  const auto layout = slot_layout();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "group" + std::to_string(g);
    expected[prefix + ".lr"] = {1, 2};
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
      for (const auto& [slot, scalar] : layout) {
        const Var& p = groups_[g].params[i];
        expected[prefix + ".param" + std::to_string(i) + "." + slot] =
            scalar ? std::pair<Index, Index>{1, 1} : std::pair<Index, Index>{p.rows(), p.cols()};
      }
  }
  std::vector<std::string> problems;
  for (const auto& [name, t] : state) {
    auto it = expected.find(name);
    if (it == expected.end()) problems.push_back("unexpected '" + name + "'");
    else if (t.rows() != it->second.first || t.cols() != it->second.second)
      problems.push_back("shape of '" + name + "': " + shape_str(t));
  }
  const std::size_t slots_per_param = layout.size();
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const std::string prefix = "group" + std::to_string(g) + ".param" + std::to_string(i) + ".";
      std::size_t present = 0;
      for (const auto& [slot, scalar] : layout) present += find_tensor(state, prefix + slot) != nullptr;
      if (present != 0 && present != slots_per_param)
        problems.push_back(prefix + "*: only " + std::to_string(present) + " of its " +
                           std::to_string(slots_per_param) + " state slots");
    }
  if (!problems.empty()) {
    std::string msg = "Optimizer::load_state_dict: nothing loaded:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw std::invalid_argument(msg);
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "group" + std::to_string(g);
    if (const Tensor* lr = find_tensor(state, prefix + ".lr"))
      groups_[g].lr = static_cast<double>((*lr)(0, 0)) + static_cast<double>((*lr)(0, 1));
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      Slots loaded;
      for (const auto& [slot, scalar] : layout)
        if (const Tensor* t = find_tensor(state, prefix + ".param" + std::to_string(i) + "." + slot))
          loaded.tensors.emplace_back(slot, *t);
      state_[g][i] = std::move(loaded);
    }
  }
}

}  // namespace m3oe::optim
