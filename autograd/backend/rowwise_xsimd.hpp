// rowwise_xsimd.hpp: the row kernels of the CPU backend (LayerNorm, the
// fused bias + LayerNorm + ReLU, softmax), vectorised along a row with xsimd
// and split over rows with OpenMP. Same contracts as the Backend methods of
// the same names (backend.hpp); built for float and for double.
//
// Determinism: rows are split into fixed pieces of kRowsPerChunk rows. A
// column sum over rows (dgamma, dbeta, dbias) is summed inside each piece,
// then over the pieces in order, so results do not depend on the thread count.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::backend::rowwise {

inline constexpr Index kRowsPerChunk = 64;

// The grouped form (Backend::grouped_bias_layernorm_relu_*): each row is
// `groups` LayerNorms of `width` values; the plain form is groups = 1.
void bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                 const real* beta, Index rows, Index groups, Index width, real eps,
                                 real* z, real* xhat, real* rstd);
void bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                  const real* rstd, const real* gamma, Index rows, Index groups,
                                  Index width, real* dt, real* dbias, real* dgamma, real* dbeta);

void layernorm_forward(const real* x, const real* gamma, const real* beta, Index rows, Index cols,
                       real eps, real* out, real* mean, real* rstd);
void layernorm_backward(const real* dout, const real* x, const real* gamma, const real* mean,
                        const real* rstd, Index rows, Index cols, real* dx, real* dgamma,
                        real* dbeta);

void softmax_rows_forward(const real* x, Index rows, Index cols, real* out);
void softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols, real* dx);

}  // namespace m3oe::backend::rowwise
