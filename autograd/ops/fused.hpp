// fused family: the two ops that carry M3oE's hot path.
//
//   linear_ln_relu   z = ReLU(LayerNorm(x @ w + b)) in one op: one GEMM and one
//                    pass of the fused row kernel, instead of four ops and
//                    three intermediate tensors. With groups > 1 the output
//                    columns are `groups` blocks normalised separately: all
//                    experts that read the same input become one wide GEMM.
//   mix_experts      out = sum_g c_g * expert_g, the weighted sums of expert
//                    outputs of paper Eq. 5-10, per row: gate weights that
//                    differ per row, and the AutoML fusion weights that are
//                    shared by all rows.
// Forward functions overwrite their outputs; backward functions ACCUMULATE
// (+=) into the gradients they are given, skip any that is nullptr, and write
// instead of adding where a GradOut says overwrite (grad_out.hpp).
#pragma once

#include "autograd/grad_out.hpp"
#include "autograd/tensor.hpp"

namespace m3oe::ops {

// z[B,G*K] = ReLU(LN_g(x[B,in] @ w[in,G*K] + bias[1,G*K])) with LN_g over each
// of the G = groups column blocks of K, scaled by gamma[1,G*K] and shifted by
// beta[1,G*K] (bias may be nullptr). Saves xhat[B,G*K] and rstd[B,G].
void linear_ln_relu_forward(Tensor& z, Tensor& xhat, Tensor& rstd, const Tensor& x,
                            const Tensor& w, const Tensor* bias, const Tensor& gamma,
                            const Tensor& beta, Index groups, real eps);
// dx[B,in], dw[in,G*K], dbias/dgamma/dbeta[1,G*K] from dz[B,G*K] and the saved
// z, xhat, rstd; dt[B,G*K] is scratch (the gradient before the GEMM).
void linear_ln_relu_backward(GradOut dx, GradOut dw, Tensor* dbias, Tensor* dgamma, Tensor* dbeta,
                             Tensor& dt, const Tensor& dz, const Tensor& z, const Tensor& xhat,
                             const Tensor& rstd, const Tensor& x, const Tensor& w,
                             const Tensor& gamma, Index groups);

// out[B,K] = sum_{g<R} row_coef[b,g] * x[b, g-th block] + sum_{g<S} shared_coef[0,g] *
// x[b, (R+g)-th block], for x[B,(R+S)*K], row_coef[B,R] and shared_coef[1,S]
// (either may be nullptr: R or S = 0).
void mix_experts_forward(Tensor& out, const Tensor& x, const Tensor* row_coef,
                         const Tensor* shared_coef);
// dx[B,(R+S)*K], drow_coef[B,R], dshared_coef[1,S] from dout[B,K].
void mix_experts_backward(GradOut dx, GradOut drow_coef, Tensor* dshared_coef, const Tensor& dout,
                          const Tensor& x, const Tensor* row_coef, const Tensor* shared_coef);

}  // namespace m3oe::ops
