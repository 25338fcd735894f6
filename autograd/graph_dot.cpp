#include "autograd/graph_dot.hpp"

#include <algorithm>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace m3oe {

namespace {

// A DOT string literal's contents: quotes and backslashes escaped.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string label_of(const Node& n, bool mark_gradients) {
  const bool leaf = !n.backward_fn && !n.released && n.inputs.empty();
  std::string first;
  if (leaf) first = n.name.empty() ? std::string(n.op) : n.name;
  else first = n.name.empty() ? std::string(n.op) : std::string(n.op) + " '" + n.name + "'";
  std::string label = escape(first) + "\\n" + shape_str(n.value);
  if (n.released) label += "\\n(released)";
  if (mark_gradients && n.grad.size() != 0) label += "\\ngrad";
  return label;
}

std::string style_of(const Node& n, bool is_root) {
  const bool leaf = !n.backward_fn && !n.released && n.inputs.empty();
  std::string style = "style=filled, fillcolor=";
  if (!n.requires_grad) style = "style=\"filled,dashed\", fillcolor=white";
  else style += leaf ? "lightblue" : "lightyellow";
  if (is_root) style += ", peripheries=2";
  return style;
}

}  // namespace

void write_dot(std::ostream& os, const Var& root, const DotOptions& options) {
  if (!root.defined()) throw std::invalid_argument("write_dot: the root Var is undefined");
  std::unordered_map<const Node*, std::size_t> id;  // node -> its number, in visit order
  std::vector<const Node*> order{root.node()};
  id.emplace(root.node(), 0);
  // Breadth-first over the inputs with an explicit queue (no recursion).
  for (std::size_t next = 0; next < order.size(); ++next)
    for (const NodePtr& in : order[next]->inputs)
      if (id.emplace(in.get(), order.size()).second) order.push_back(in.get());
  const std::size_t shown = options.max_nodes == 0 ? order.size()
                                                   : std::min(order.size(), options.max_nodes);

  os << "digraph \"" << escape(options.graph_name) << "\" {\n";
  os << "  rankdir=" << (options.left_to_right ? "LR" : "TB") << ";\n";
  os << "  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n";
  os << "  edge [fontsize=8];\n";
  for (std::size_t k = 0; k < shown; ++k) {
    const Node& n = *order[k];
    os << "  n" << k << " [label=\"" << label_of(n, options.mark_gradients) << "\", "
       << style_of(n, k == 0) << "];\n";
  }
  for (std::size_t k = 0; k < shown; ++k) {
    const Node& n = *order[k];
    const bool numbered = n.inputs.size() > 1;
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      const std::size_t from = id.at(n.inputs[i].get());
      if (from >= shown) continue;
      os << "  n" << from << " -> n" << k;
      if (numbered) os << " [label=\"" << i << "\"]";
      os << ";\n";
    }
  }
  if (shown < order.size())
    os << "  note [shape=plaintext, label=\"... " << order.size() - shown
       << " more nodes not shown (max_nodes)\"];\n";
  os << "}\n";
}

std::string to_dot(const Var& root, const DotOptions& options) {
  std::ostringstream s;
  write_dot(s, root, options);
  return s.str();
}

}  // namespace m3oe
