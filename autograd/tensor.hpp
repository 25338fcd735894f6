// tensor.hpp: the one value type of m3oe.cpp.
//
// A Tensor is a dense row-major matrix. Row-major because a batch is a stack
// of rows (one sample per row) and every hot loop walks along a row.
// Vectors are matrices too: a bias is [1,N], a per-row scalar is [B,1],
// a scalar (a loss, an AutoML weight) is [1,1].
//
// The scalar type is float. Building with -DM3OE_DOUBLE=1 switches the whole
// library to double; the gradient-check tests use that build so that central
// finite differences are accurate to ~1e-8 instead of ~1e-3.
#pragma once

#include "autograd/abi.hpp"  // before Eigen: fixes its alignment

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

namespace m3oe {

#if defined(M3OE_DOUBLE) && M3OE_DOUBLE
using real = double;
#else
using real = float;
#endif

using Tensor = Eigen::Matrix<real, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Index = Eigen::Index;
// Row indices (embedding ids, domain routing). int32 halves the memory of a
// 40,960-row batch's index lists compared with int64 and is plenty for ids.
using IndexList = std::vector<std::int32_t>;

// "[3,4]" for error messages.
// (Appended piecewise: g++ 12 -O3 warns falsely, -Wrestrict, on "[" + string.)
inline std::string shape_str(const Tensor& t) {
  std::string s = "[";
  s += std::to_string(t.rows());
  s += ',';
  s += std::to_string(t.cols());
  s += ']';
  return s;
}

}  // namespace m3oe
