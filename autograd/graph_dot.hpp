// graph_dot.hpp: a Var's graph written as Graphviz DOT.
//
//   name_parameters(model);                 // layers/module.hpp (done when built)
//   std::ofstream f("graph.dot");
//   write_dot(f, loss);
//   // then: dot -Tsvg graph.dot -o graph.svg
//
// One box per node, an edge from each input to the op that reads it (data
// flows top to bottom, the root last). An op's box shows its op name and
// shape; a leaf's its name (Var::set_name, or the parameter's dotted name)
// or "leaf", and its shape. Colours say which nodes need gradients:
//   blue    a leaf that requires grad (a parameter, a checked input)
//   yellow  an op result that requires grad (backward runs through it)
//   white   a constant (an input, labels, anything under NoGradGuard)
// The root has a double border. When several inputs feed one op, the edges
// are numbered by input position (matmul's a is 0, b is 1).
//
// It can be written before backward, or after backward(retain_graph=true).
// After a plain backward() the graph is released: the nodes keep their op
// names but no longer their inputs, and the dump says so ("released").
// The walk is iterative, so graphs of any depth are fine.
#pragma once

#include "autograd/node.hpp"

#include <iosfwd>
#include <string>

namespace m3oe {

struct DotOptions {
  std::string graph_name = "m3oe";
  bool left_to_right = false;  // rankdir=LR instead of top to bottom
  // Show "grad" on nodes that hold a gradient (leaves after a backward).
  bool mark_gradients = true;
  // Stop after this many nodes (0: no limit); a note says how many were left out.
  std::size_t max_nodes = 0;
};

void write_dot(std::ostream& os, const Var& root, const DotOptions& options = {});
std::string to_dot(const Var& root, const DotOptions& options = {});

}  // namespace m3oe
