// node.hpp: the autograd graph.
//
// A Node is one tensor-valued vertex of the graph: its forward value, the
// gradient of the final scalar with respect to that value, the nodes it was
// computed from, and a closure that pushes its gradient into theirs.
//
// A Var is what user code holds: a cheap shared handle to a Node, so that
// `Var y = relu(linear(x, w, b));` reads like PyTorch.
//
// Backward (Var::backward) walks the graph once in reverse topological order
// (iteratively, so deep graphs cannot overflow the stack). Gradients are
// ACCUMULATED (+=) into every input, which is what makes a node used twice
// (y = x * x) get the sum of both paths. After the sweep the graph's edges
// and closures are released unless retain_graph is asked for; walking a
// released graph again is an error with a clear message.
#pragma once

#include "autograd/grad_out.hpp"
#include "autograd/tensor.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace m3oe {

struct Node;
using NodePtr = std::shared_ptr<Node>;
// Reads self.grad and accumulates into self.inputs[i]->grad (via grad_buffer).
using BackwardFn = std::function<void(Node& self)>;

struct Node {
  Tensor value;
  Tensor grad;                 // empty (0x0) until something accumulates into it
  std::vector<NodePtr> inputs; // the nodes `value` was computed from
  BackwardFn backward_fn;      // empty for leaves
  bool requires_grad = false;
  bool released = false;       // edges dropped by a backward without retain_graph
  const char* op = "leaf";     // the op that made it (for messages and printing)
  std::string name;            // optional, for printing: a parameter's dotted name
  // Counts the writable accesses to `value` through Var::value(): every
  // in-place change of a parameter (an optimizer step, a load, an AutoML
  // perturbation) goes through one, so a cache of values computed from the
  // parameters (m3oe::Predictor) sees that it is stale. Like PyTorch's
  // tensor._version. Atomic: threads may share a node.
  std::atomic<std::uint64_t> version{0};

  // Frees a chain of nodes that nothing else holds iteratively: a graph that
  // was never walked (say, a loss summed over 100k steps without detach)
  // would otherwise be destroyed by one nested destructor call per node.
  ~Node();

  bool is_leaf() const { return !backward_fn && !released; }
  // The gradient tensor, zero-initialised on first use, for accumulation.
  Tensor& grad_buffer();
  // grad_buffer() if this node wants a gradient, nullptr otherwise: backward
  // functions skip the work for inputs that need none.
  Tensor* grad_or_null() { return requires_grad ? &grad_buffer() : nullptr; }
  // Like grad_or_null(), for a backward that can write its whole
  // contribution in one go: while the gradient does not exist yet it is
  // created with the value's shape but NOT zeroed, and marked overwrite
  // (grad_out.hpp). Backward closures ask input_grad_out(i) instead, which
  // knows when an overwrite is safe.
  GradOut grad_out();
  // The GradOut of this op's input i, for its backward closure: grad_out()
  // when inputs[i] appears once among the inputs, so that this backward's
  // write into a new gradient is the first and only one; an accumulating
  // grad_or_null() when one node is several inputs (matmul(x, x)), so that
  // every part adds up.
  GradOut input_grad_out(std::size_t i);
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(NodePtr node) : node_(std::move(node)) {}

  bool defined() const { return static_cast<bool>(node_); }
  const Tensor& value() const { return node_->value; }
  // Writable access, counted in version() (a non-const Var reading its value
  // should use std::as_const(v).value() or cvalue() to leave it unchanged).
  Tensor& value() {
    node_->version.fetch_add(1, std::memory_order_relaxed);
    return node_->value;
  }
  const Tensor& cvalue() const { return node_->value; }
  std::uint64_t version() const { return node_->version.load(std::memory_order_relaxed); }
  // The accumulated gradient; a zero tensor of the value's shape if none yet.
  const Tensor& grad() const;
  bool has_grad() const { return node_->grad.size() != 0; }
  Index rows() const { return node_->value.rows(); }
  Index cols() const { return node_->value.cols(); }
  bool requires_grad() const { return node_->requires_grad; }
  void set_requires_grad(bool on) { node_->requires_grad = on; }
  const char* op() const { return node_->op; }
  // An optional name shown by the graph dump and the gradient checker (a
  // module names its parameters "weight", "bias"; a parent prefixes them, so
  // a model's read "expert.0.domain_specific.0.weight"). Returns *this.
  const Var& set_name(std::string name) const;
  const std::string& name() const { return node_->name; }
  Node* node() const { return node_.get(); }
  const NodePtr& node_ptr() const { return node_; }
  // value()(0,0) of a [1,1] tensor, with a shape check.
  real item() const;

  // Backpropagate from this [1,1] node with seed 1.
  void backward(bool retain_graph = false) const;
  // Backpropagate from this node with the given seed (same shape as value).
  void backward(const Tensor& seed, bool retain_graph = false) const;
  // Forget the accumulated gradient (the next backward starts from zero).
  void zero_grad() const { node_->grad.resize(0, 0); }
  // A new leaf sharing nothing with the graph: same value, no gradient flow.
  Var detach() const;

 private:
  NodePtr node_;
};

// Gradient recording switch, per thread, like torch.is_grad_enabled().
bool grad_enabled();
// RAII scope: inside it ops record no graph (inference, evaluation, and the
// optimizer's in-place updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Used by every op wrapper: wraps a forward result into a Var. If grad mode
// is on and any input requires grad, the result records its inputs and the
// backward closure; otherwise it is a constant leaf and `fn` is dropped.
Var make_result(Tensor value, const char* op, std::vector<Var> inputs, BackwardFn fn);

}  // namespace m3oe
