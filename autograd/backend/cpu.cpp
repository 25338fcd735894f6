// The CPU backend: the packed xsimd GEMM (float builds; the double build,
// used by the gradient checks, keeps the reference GEMM through Eigen) and
// the xsimd + OpenMP row kernels. Every kernel uses num_threads() threads and
// gives the same bits for any thread count (see threads.hpp).
#include "autograd/backend/backend.hpp"
#include "autograd/backend/gemm_xsimd.hpp"
#include "autograd/backend/rowwise_xsimd.hpp"
#include "autograd/backend/threads.hpp"

namespace m3oe::backend {

namespace {
class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

#if !(defined(M3OE_DOUBLE) && M3OE_DOUBLE)
  // Float build only: the double build keeps Backend::gemm (Eigen).
  using Backend::gemm;  // gemm(const GemmCall&)
  void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, real alpha, const real* a,
            Index lda, const real* b, Index ldb, real beta, real* c, Index ldc) override {
    // Tiny products (up to about 20^3 multiply-adds) are faster through Eigen,
    // whose product runs single-threaded at that size (Eigen parallelises
    // from 100,000 multiply-adds), so the result stays thread-count independent.
    if (double(m) * double(n) * double(k) <= kTinyGemm)
      Backend::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
      sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  static constexpr double kTinyGemm = 8192;

  // A layer's two gradient products, dX = dY W^T and dW = X^T dY, have the
  // same number of multiply-adds (rows x in x out). Split over all threads
  // one after the other, each product waits at its end for the slower half
  // and, for dW, every thread packs all of dY; side by side, each runs on
  // its own share of the threads and touches only its own operands.
  // Each product's bits do not depend on its thread count, so the results
  // are those of the sequential base. Small products stay sequential: a
  // second thread is not worth waking for them.
  void gemm_pair(const GemmCall& first, const GemmCall& second) override {
    auto work = [](const GemmCall& g) { return double(g.m) * double(g.n) * double(g.k); };
    const int threads = num_threads();
    if (threads < 2 || work(first) < kPairMinWork || work(second) < kPairMinWork)
      return Backend::gemm_pair(first, second);
    run_side_by_side(threads, [&] { gemm(first); }, [&] { gemm(second); });
  }
  // 2^20 multiply-adds: about 5 microseconds on one AVX-512 core.
  static constexpr double kPairMinWork = double(1 << 20);
#endif

  void layernorm_forward(const real* x, const real* gamma, const real* beta, Index rows,
                         Index cols, real eps, real* out, real* mean, real* rstd) override {
    rowwise::layernorm_forward(x, gamma, beta, rows, cols, eps, out, mean, rstd);
  }
  void layernorm_backward(const real* dout, const real* x, const real* gamma, const real* mean,
                          const real* rstd, Index rows, Index cols, real* dx, real* dgamma,
                          real* dbeta) override {
    rowwise::layernorm_backward(dout, x, gamma, mean, rstd, rows, cols, dx, dgamma, dbeta);
  }

  void softmax_rows_forward(const real* x, Index rows, Index cols, real* out) override {
    rowwise::softmax_rows_forward(x, rows, cols, out);
  }
  void softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols,
                             real* dx) override {
    rowwise::softmax_rows_backward(y, dy, rows, cols, dx);
  }

  void bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                   const real* beta, Index rows, Index cols, real eps, real* z,
                                   real* xhat, real* rstd) override {
    rowwise::bias_layernorm_relu_forward(t, bias, gamma, beta, rows, 1, cols, eps, z, xhat, rstd);
  }
  void bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                    const real* rstd, const real* gamma, Index rows, Index cols,
                                    real* dt, real* dbias, real* dgamma, real* dbeta) override {
    rowwise::bias_layernorm_relu_backward(dz, z, xhat, rstd, gamma, rows, 1, cols, dt, dbias,
                                          dgamma, dbeta);
  }
  void grouped_bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                           const real* beta, Index rows, Index groups,
                                           Index width, real eps, real* z, real* xhat,
                                           real* rstd) override {
    rowwise::bias_layernorm_relu_forward(t, bias, gamma, beta, rows, groups, width, eps, z, xhat,
                                         rstd);
  }
  void grouped_bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                            const real* rstd, const real* gamma, Index rows,
                                            Index groups, Index width, real* dt, real* dbias,
                                            real* dgamma, real* dbeta) override {
    rowwise::bias_layernorm_relu_backward(dz, z, xhat, rstd, gamma, rows, groups, width, dt,
                                          dbias, dgamma, dbeta);
  }
};
}  // namespace

Backend& default_cpu() {
  static CpuBackend cpu;
  return cpu;
}

}  // namespace m3oe::backend
