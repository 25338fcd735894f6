// print.hpp: tensors and Vars printed the way PyTorch prints them.
//
//   std::cout << y;   // a Var
//   tensor([[ 0.1192, -0.8808],
//           [ 0.5000,  0.2689]], shape=[2,2], grad_fn=sigmoid)
//
// Four decimals, aligned columns; scientific notation when the magnitudes
// span more than 1000x (or go beyond 1e8 or below 1e-4); whole numbers as
// "1.". A tensor of more than `threshold` (1000) entries is summarised:
// the first and last `edge_items` (3) rows and columns, with "..." between,
// like torch.set_printoptions. After the values: the shape, then for a Var
// requires_grad=True (a leaf), grad_fn=<op> (an op's result) and its name.
//
// A Tensor has no operator<< of ours: it is an Eigen matrix and Eigen's own
// operator<< (plain rows of numbers) stays what `std::cout << tensor` does.
// Write to_string(tensor) for this format.
#pragma once

#include "autograd/node.hpp"

#include <iosfwd>
#include <string>

namespace m3oe {

struct PrintOptions {
  Index threshold = 1000;  // summarise tensors with more entries than this
  Index edge_items = 3;    // rows and columns shown at each end when summarised
  int precision = 4;       // digits after the point
};

std::string to_string(const Tensor& t, const PrintOptions& options = {});
std::string to_string(const Var& v, const PrintOptions& options = {});
std::ostream& operator<<(std::ostream& os, const Var& v);

}  // namespace m3oe
