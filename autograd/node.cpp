#include "autograd/node.hpp"

#include <stdexcept>
#include <unordered_set>
#include <utility>

namespace m3oe {

namespace {
thread_local bool g_grad_enabled = true;
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Node::~Node() {
  // Take over the inputs this node is the last owner of, and theirs, and so
  // on: each is then destroyed with no inputs left, so without recursion.
  std::vector<NodePtr> pending = std::move(inputs);
  while (!pending.empty()) {
    NodePtr n = std::move(pending.back());
    pending.pop_back();
    if (n && n.use_count() == 1) {
      for (NodePtr& in : n->inputs) pending.push_back(std::move(in));
      n->inputs.clear();
    }
  }
}

Tensor& Node::grad_buffer() {
  if (grad.size() == 0) grad.setZero(value.rows(), value.cols());
  return grad;
}

GradOut Node::grad_out() {
  if (!requires_grad) return {};
  if (grad.size() != 0) return {&grad, false};
  grad.resize(value.rows(), value.cols());  // contents undefined: the caller writes them all
  return {&grad, true};
}

GradOut Node::input_grad_out(std::size_t i) {
  Node& in = *inputs.at(i);
  for (std::size_t j = 0; j < inputs.size(); ++j)
    if (j != i && inputs[j].get() == &in) return in.grad_or_null();
  return in.grad_out();
}

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

const Tensor& Var::grad() const {
  if (node_->grad.size() == 0) node_->grad.setZero(node_->value.rows(), node_->value.cols());
  return node_->grad;
}

real Var::item() const {
  if (node_->value.rows() != 1 || node_->value.cols() != 1)
    throw std::invalid_argument("item(): tensor is " + shape_str(node_->value) + ", not [1,1]");
  return node_->value(0, 0);
}

const Var& Var::set_name(std::string name) const {
  node_->name = std::move(name);
  return *this;
}

Var Var::detach() const { return Var(node_->value, false); }

Var make_result(Tensor value, const char* op, std::vector<Var> inputs, BackwardFn fn) {
  bool needs_graph = false;
  if (g_grad_enabled)
    for (const Var& in : inputs) needs_graph = needs_graph || in.requires_grad();
  Var out(std::move(value), needs_graph);
  out.node()->op = op;
  if (needs_graph) {
    out.node()->inputs.reserve(inputs.size());
    for (Var& in : inputs) out.node()->inputs.push_back(in.node_ptr());
    out.node()->backward_fn = std::move(fn);
  }
  return out;
}

void Var::backward(bool retain_graph) const {
  if (node_->value.rows() != 1 || node_->value.cols() != 1)
    throw std::invalid_argument(std::string("backward() without a seed needs a [1,1] result, got ") +
                                shape_str(node_->value) + " from op '" + node_->op + "'");
  backward(Tensor::Ones(1, 1), retain_graph);
}

namespace {
std::string released_message(const Node& n) {
  return std::string("backward through a released graph (node made by op '") + n.op +
         "'): the graph was freed by an earlier backward(); pass retain_graph=true to "
         "that first backward() to walk it twice";
}
}  // namespace

void Var::backward(const Tensor& seed, bool retain_graph) const {
  Node* root = node_.get();
  if (root->released) throw std::logic_error(released_message(*root));
  if (!root->requires_grad)
    throw std::logic_error(std::string("backward(): the result of op '") + root->op +
                           "' does not require grad (no input requires grad, or it was "
                           "computed under NoGradGuard)");
  if (seed.rows() != root->value.rows() || seed.cols() != root->value.cols())
    throw std::invalid_argument("backward(): seed " + shape_str(seed) + " does not match value " +
                                shape_str(root->value));

  // 1. Reverse topological order by an iterative post-order DFS. A node is
  //    emitted after all of its inputs, so walking `order` backwards visits a
  //    node only when every consumer has already added its gradient into it.
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, std::size_t>> stack;  // (node, next input to visit)
  stack.emplace_back(root, 0);
  visited.insert(root);
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->inputs.size()) {
      Node* in = n->inputs[next++].get();
      if (!in->requires_grad || visited.count(in)) continue;
      if (in->released) throw std::logic_error(released_message(*in));
      visited.insert(in);
      stack.emplace_back(in, 0);
    } else {
      order.push_back(n);
      stack.pop_back();
    }
  }

  // 2. Seed and sweep.
  Tensor& g = root->grad_buffer();
  g += seed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (n->backward_fn && n->grad.size() != 0) n->backward_fn(*n);
  }

  // 3. Intermediate gradients are consumed: drop them even with retain_graph,
  //    so that a second backward through a retained graph starts them from
  //    zero (and adds exactly one more gradient into the leaves). Without
  //    retain_graph the graph is released too: intermediate nodes drop their
  //    edges and closures (and the tensors those saved). Leaves keep their
  //    gradients.
  for (Node* n : order) {
    if (!n->backward_fn) continue;  // a leaf
    n->grad.resize(0, 0);
    if (retain_graph) continue;
    n->inputs.clear();
    n->inputs.shrink_to_fit();
    n->backward_fn = nullptr;
    n->released = true;
  }
}

}  // namespace m3oe
