// backend.hpp: the seam between the graph and the arithmetic.
//
// Ops (autograd/ops/*) never loop over big matrices themselves for the hot
// paths: they call the active Backend. A Backend is a set of raw-pointer
// kernels on row-major `real` arrays. The base class implements every kernel
// with the plain reference code (autograd/backend/reference.cpp); a faster
// backend (the xsimd + OpenMP CPU backend, the CUDA plugin) overrides the
// kernels it accelerates and inherits the rest. Every override is checked
// against the reference in tests/kernels before it is timed.
//
// Conventions: pointers are row-major with a leading dimension (row stride)
// ld >= cols. "acc" outputs are accumulated into (+=), others overwritten.
#pragma once

#include "autograd/tensor.hpp"

#include <memory>

namespace m3oe::backend {

// The arguments of one Backend::gemm call, for the kernels that take several.
struct GemmCall {
  bool trans_a, trans_b;
  Index m, n, k;
  real alpha;
  const real* a;
  Index lda;
  const real* b;
  Index ldb;
  real beta;
  real* c;
  Index ldc;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const { return "reference"; }

  // C[m,n] = alpha * op(A)[m,k] @ op(B)[k,n] + beta * C.
  // op(A) = A (A is [m,k], lda >= k) or A^T (A is [k,m], lda >= m); same for B.
  // beta = 0 overwrites C (NaNs in C are not propagated), beta = 1 accumulates.
  virtual void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, real alpha,
                    const real* a, Index lda, const real* b, Index ldb, real beta, real* c,
                    Index ldc);
  void gemm(const GemmCall& g) {
    gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
  }
  // Two independent products: neither writes what the other reads or
  // writes (a layer's input gradient dX = dY W^T and weight gradient
  // dW = X^T dY). The results are those of gemm(first) then gemm(second),
  // bit for bit; this base runs them so. The CPU backend runs them side by
  // side, each on half of the threads (docs/kernels.md, "Two products side
  // by side").
  virtual void gemm_pair(const GemmCall& first, const GemmCall& second) {
    gemm(first);
    gemm(second);
  }

  // Row layer norm: out[r,:] = gamma * (x[r,:] - mean_r) * rstd_r + beta,
  // rstd_r = 1 / sqrt(var_r + eps) with the biased variance. Saves mean[rows]
  // and rstd[rows] for the backward.
  virtual void layernorm_forward(const real* x, const real* gamma, const real* beta, Index rows,
                                 Index cols, real eps, real* out, real* mean, real* rstd);
  // dx (acc), dgamma (acc), dbeta (acc); any of them may be nullptr.
  virtual void layernorm_backward(const real* dout, const real* x, const real* gamma,
                                  const real* mean, const real* rstd, Index rows, Index cols,
                                  real* dx, real* dgamma, real* dbeta);

  // out[r,:] = softmax(x[r,:]) (max-subtracted).
  virtual void softmax_rows_forward(const real* x, Index rows, Index cols, real* out);
  // dx (acc) from the softmax output y and its gradient dy:
  // dx = y * (dy - sum(dy * y)) per row.
  virtual void softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols,
                                     real* dx);

  // Fused bias + LayerNorm + ReLU: the body of every expert and tower layer,
  // z = ReLU(LN(x @ W + bias)), after the GEMM t = x @ W. Per row r:
  //   u = t[r,:] + bias;  xhat = (u - mean(u)) * rstd_r;  z = max(0, gamma * xhat + beta)
  // with rstd_r = 1 / sqrt(var(u) + eps) (biased variance). bias may be
  // nullptr (no bias). Saves xhat[rows,cols] and rstd[rows] for the backward.
  // xhat may be the same array as t (the ops compute the GEMM into xhat).
  virtual void bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                           const real* beta, Index rows, Index cols, real eps,
                                           real* z, real* xhat, real* rstd);
  // Its backward from dz[rows,cols] and the saved z, xhat, rstd. With the
  // ReLU gate dy = dz * (z > 0) and g = dy * gamma:
  //   dt = rstd * (g - mean(g) - xhat * mean(g * xhat))   OVERWRITTEN (a scratch
  //        the caller feeds to the GEMMs dx = dt W^T, dW = x^T dt)
  //   dbias += sum_rows(dt), dgamma += sum_rows(dy * xhat), dbeta += sum_rows(dy)
  // Any output may be nullptr.
  virtual void bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                            const real* rstd, const real* gamma, Index rows,
                                            Index cols, real* dt, real* dbias, real* dgamma,
                                            real* dbeta);

  // The grouped form, for several experts computed by one GEMM: a row of
  // cols = groups * width values is `groups` independent LayerNorms of
  // `width` values; group g reads bias, gamma and beta at [g*width, (g+1)*width)
  // and saves its rstd at rstd[r*groups + g] (rstd is [rows, groups]).
  // Otherwise the contracts above; groups = 1 is the plain kernel.
  virtual void grouped_bias_layernorm_relu_forward(const real* t, const real* bias,
                                                   const real* gamma, const real* beta,
                                                   Index rows, Index groups, Index width,
                                                   real eps, real* z, real* xhat, real* rstd);
  virtual void grouped_bias_layernorm_relu_backward(const real* dz, const real* z,
                                                    const real* xhat, const real* rstd,
                                                    const real* gamma, Index rows, Index groups,
                                                    Index width, real* dt, real* dbias,
                                                    real* dgamma, real* dbeta);
};

// The backend the ops use now. Starts as the CPU backend of this build.
Backend& active();
// The CPU backend of this build (backend/cpu.cpp); the default active one.
Backend& default_cpu();
// Replace the active backend (nullptr restores the default CPU backend).
// The caller keeps ownership and must keep it alive while it is active.
void set_active(Backend* b);
// The plain reference kernels (for tests and as the base of every backend).
Backend& reference();

// RAII: use `b` inside a scope (tests compare backends this way).
class ScopedBackend {
 public:
  explicit ScopedBackend(Backend& b) : previous_(&active()) { set_active(&b); }
  ~ScopedBackend() { set_active(previous_); }
  ScopedBackend(const ScopedBackend&) = delete;
  ScopedBackend& operator=(const ScopedBackend&) = delete;

 private:
  Backend* previous_;
};

}  // namespace m3oe::backend
