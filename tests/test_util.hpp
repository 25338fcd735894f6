// Helpers shared by the doctest suites.
#pragma once

#include "autograd/tensor.hpp"

#include <exception>
#include <initializer_list>
#include <string>

namespace m3oe::testing {

// The message of the std::exception that f() throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// A [r,c] tensor from its values in row-major order.
inline Tensor mat(Index r, Index c, std::initializer_list<real> values) {
  Tensor t(r, c);
  Index i = 0;
  for (real v : values) t.data()[i++] = v;
  return t;
}

}  // namespace m3oe::testing
