// gemm_call.hpp: the ops' road to the backend's matrix products (internal to
// autograd/ops). Tensors are row-major with leading dimension = cols.
#pragma once

#include "autograd/backend/backend.hpp"
#include "autograd/grad_out.hpp"

namespace m3oe::ops {

// The backend call for c[M,N] (+)= op(a) @ op(b): c = op(a) op(b) + beta c.
inline backend::GemmCall gemm_call(Tensor& c, const Tensor& a, bool ta, const Tensor& b, bool tb,
                                   real beta) {
  const Index m = ta ? a.cols() : a.rows();
  const Index k = ta ? a.rows() : a.cols();
  const Index n = tb ? b.rows() : b.cols();
  return {ta, tb, m, n, k, real(1), a.data(), a.cols(), b.data(), b.cols(), beta, c.data(),
          c.cols()};
}

// c (+)= op(a) @ op(b) through the active backend.
inline void gemm(Tensor& c, const Tensor& a, bool ta, const Tensor& b, bool tb, real beta) {
  backend::active().gemm(gemm_call(c, a, ta, b, tb, beta));
}

// The two gradient products of one layer, each run only where its GradOut
// is wanted (the call of an unwanted one is ignored). Side by side when both
// are wanted and write different tensors (Backend::gemm_pair); one after the
// other when they write the same one (matmul(x, x): both add into x's
// gradient).
inline void gemm_both(const GradOut& first_out, const backend::GemmCall& first,
                      const GradOut& second_out, const backend::GemmCall& second) {
  backend::Backend& be = backend::active();
  if (first_out && second_out && first_out.t != second_out.t) return be.gemm_pair(first, second);
  if (first_out) be.gemm(first);
  if (second_out) be.gemm(second);
}

}  // namespace m3oe::ops
