// grad_out.hpp: where a backward function puts one input's gradient.
//
// The rule of every backward is "add into the input's gradient" (see
// docs/autograd.md, Accumulation). A gradient that nothing has touched yet
// would have to be zero-filled first and then read back by the addition: for
// the activations of a training step that is a full extra pass over every
// intermediate gradient. A GradOut lets the first writer skip both:
//
//   t == nullptr      the input needs no gradient: skip the work;
//   overwrite false   add into *t (the default, and what a plain Tensor* means);
//   overwrite true    *t has the right shape but undefined contents: the
//                     backward must WRITE every element (a GEMM with beta = 0).
//
// Node::grad_out() (node.hpp) hands out overwrite = true only for a gradient
// that has not been created yet, so the result is the same sum as before.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe {

struct GradOut {
  Tensor* t = nullptr;
  bool overwrite = false;

  GradOut() = default;
  // A plain pointer accumulates (implicit, so Tensor* call sites keep working).
  GradOut(Tensor* tensor) : t(tensor) {}  // NOLINT(google-explicit-constructor)
  GradOut(Tensor* tensor, bool overwrite_it) : t(tensor), overwrite(overwrite_it) {}

  explicit operator bool() const { return t != nullptr; }
  Tensor& operator*() const { return *t; }
  Tensor* operator->() const { return t; }
  // The GEMM beta that writes this gradient: 0 overwrites, 1 accumulates.
  real beta() const { return overwrite ? real(0) : real(1); }
  // Puts one part of the gradient: dst = src for an overwrite, dst += src
  // otherwise. dst is a view into *t (an Eigen block or row) or one element.
  template <class Dst, class Src>
  void put(Dst&& dst, const Src& src) const {
    if (overwrite) dst = src;
    else dst += src;
  }
};

}  // namespace m3oe
