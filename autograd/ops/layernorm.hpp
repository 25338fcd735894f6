// layernorm family: per-row layer normalisation through the active backend.
// The forward overwrites its outputs; the backward ACCUMULATES (+=) into the
// gradients it is given and skips any that is nullptr.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::ops {

// out[B,N] = gamma[1,N] * (x[B,N] - mean) * rstd + beta[1,N], with per-row
// mean[B,1] and rstd[B,1] = 1 / sqrt(biased var + eps) saved for the backward.
void layer_norm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x,
                        const Tensor& gamma, const Tensor& beta, real eps);
// dx[B,N], dgamma[1,N], dbeta[1,N]; dout[B,N], x[B,N], gamma[1,N], mean[B,1], rstd[B,1].
// With xhat = (x - mean) rstd and g = dout * gamma:
//   dx = rstd (g - mean_row(g) - xhat mean_row(g xhat)),
//   dgamma = sum_rows(dout xhat), dbeta = sum_rows(dout).
void layer_norm_backward(Tensor* dx, Tensor* dgamma, Tensor* dbeta, const Tensor& dout,
                         const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd);

}  // namespace m3oe::ops
