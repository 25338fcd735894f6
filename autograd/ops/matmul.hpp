// matmul family: matrix products and the affine layer.
// Forward functions overwrite `out`; backward functions ACCUMULATE (+=) into
// the gradients they are given, skip any that is nullptr, and write instead of
// adding where a GradOut says overwrite (grad_out.hpp).
#pragma once

#include "autograd/grad_out.hpp"
#include "autograd/tensor.hpp"

namespace m3oe::ops {

// out[M,N] = op(a) @ op(b), op(a)[M,K] is a or a^T (trans_a), op(b)[K,N] likewise.
void matmul_forward(Tensor& out, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b);
// da: like a, db: like b, dout[M,N].
void matmul_backward(GradOut da, GradOut db, const Tensor& dout, const Tensor& a, const Tensor& b,
                     bool trans_a, bool trans_b);

// out[B,N] = x[B,K] @ w[K,N] + bias[1,N] (bias may be nullptr).
void linear_forward(Tensor& out, const Tensor& x, const Tensor& w, const Tensor* bias);
// dx[B,K], dw[K,N], dbias[1,N]; dout[B,N].
void linear_backward(GradOut dx, GradOut dw, GradOut dbias, const Tensor& dout, const Tensor& x,
                     const Tensor& w);

}  // namespace m3oe::ops
