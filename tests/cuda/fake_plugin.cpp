// fake_plugin.cpp: stand-ins for libm3oe_cuda.so, built without CUDA, that
// let the loader's every path be tested on any machine. FAKE_MODE picks:
//   0  a module without the entry point
//   1  the entry point, but a table of another ABI version (999)
//   2  the right ABI, and a probe that reports no device
//   3  the right ABI and a "device" that runs every kernel on the host with
//      the reference kernels: exercises CudaBackend's forwarding end to end
#include "autograd/backend/cuda/plugin_abi.h"

#if FAKE_MODE == 0
extern "C" __attribute__((visibility("default"))) int m3oe_not_a_cuda_plugin() { return 0; }
#else

#include "autograd/backend/backend.hpp"

#include <cstdio>
#include <string>

struct m3oe_cuda_context {
  std::string error;
};

namespace {

using m3oe::backend::reference;

void probe(int device, m3oe_cuda_probe_result* out) {
  *out = m3oe_cuda_probe_result{};
  out->device = device;
  out->device_count = FAKE_MODE == 3 ? 1 : 0;
  if (FAKE_MODE != 3) {
    std::snprintf(out->message, sizeof out->message, "fake plugin: this machine has no GPU");
  } else if (device != 0) {
    std::snprintf(out->message, sizeof out->message, "device %d asked for, but only 1 present",
                  device);
  } else {
    out->usable = 1;
    std::snprintf(out->name, sizeof out->name, "fake host device");
    std::snprintf(out->message, sizeof out->message, "fake host device (kernels on the CPU)");
  }
}

m3oe_cuda_context* create(int, char*, size_t) { return new m3oe_cuda_context; }
void destroy(m3oe_cuda_context* ctx) { delete ctx; }
const char* last_error(const m3oe_cuda_context* ctx) { return ctx->error.c_str(); }
void pool_stats(const m3oe_cuda_context*, m3oe_cuda_pool_stats* out) { *out = {}; }

int gemm(m3oe_cuda_context*, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
         const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
         int64_t ldc) {
  reference().gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return 0;
}
int layernorm_forward(m3oe_cuda_context*, const float* x, const float* gamma, const float* beta,
                      int64_t rows, int64_t cols, float eps, float* out, float* mean,
                      float* rstd) {
  reference().layernorm_forward(x, gamma, beta, rows, cols, eps, out, mean, rstd);
  return 0;
}
int layernorm_backward(m3oe_cuda_context*, const float* dout, const float* x, const float* gamma,
                       const float* mean, const float* rstd, int64_t rows, int64_t cols,
                       float* dx, float* dgamma, float* dbeta) {
  reference().layernorm_backward(dout, x, gamma, mean, rstd, rows, cols, dx, dgamma, dbeta);
  return 0;
}
int softmax_rows_forward(m3oe_cuda_context*, const float* x, int64_t rows, int64_t cols,
                         float* out) {
  reference().softmax_rows_forward(x, rows, cols, out);
  return 0;
}
int softmax_rows_backward(m3oe_cuda_context*, const float* y, const float* dy, int64_t rows,
                          int64_t cols, float* dx) {
  reference().softmax_rows_backward(y, dy, rows, cols, dx);
  return 0;
}
int bias_layernorm_relu_forward(m3oe_cuda_context*, const float* t, const float* bias,
                                const float* gamma, const float* beta, int64_t rows, int64_t cols,
                                float eps, float* z, float* xhat, float* rstd) {
  reference().bias_layernorm_relu_forward(t, bias, gamma, beta, rows, cols, eps, z, xhat, rstd);
  return 0;
}
int bias_layernorm_relu_backward(m3oe_cuda_context*, const float* dz, const float* z,
                                 const float* xhat, const float* rstd, const float* gamma,
                                 int64_t rows, int64_t cols, float* dt, float* dbias,
                                 float* dgamma, float* dbeta) {
  reference().bias_layernorm_relu_backward(dz, z, xhat, rstd, gamma, rows, cols, dt, dbias,
                                           dgamma, dbeta);
  return 0;
}
int axpy(m3oe_cuda_context*, int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
  return 0;
}
int add(m3oe_cuda_context*, int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
  return 0;
}
int mul(m3oe_cuda_context*, int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
  return 0;
}
int relu_forward(m3oe_cuda_context*, int64_t n, const float* x, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0.f ? x[i] : 0.f;
  return 0;
}
int relu_backward(m3oe_cuda_context*, int64_t n, const float* y, const float* dy, float* dx) {
  for (int64_t i = 0; i < n; ++i)
    if (y[i] > 0.f) dx[i] += dy[i];
  return 0;
}
// The same bad-id message as the real plugin.
bool bad_id(m3oe_cuda_context* ctx, const char* op, const int32_t* ids, int64_t count,
            int64_t vocab) {
  for (int64_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= vocab) {
      ctx->error = std::string(op) + ": ids[" + std::to_string(i) + "] = " +
                   std::to_string(ids[i]) + " is outside [0, " + std::to_string(vocab) + ")";
      return true;
    }
  return false;
}
int embedding_gather(m3oe_cuda_context* ctx, const float* table, int64_t vocab, int64_t dim,
                     const int32_t* ids, int64_t count, float* out) {
  if (bad_id(ctx, "embedding_gather", ids, count, vocab)) return 1;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t e = 0; e < dim; ++e) out[i * dim + e] = table[int64_t(ids[i]) * dim + e];
  return 0;
}
int embedding_scatter_add(m3oe_cuda_context* ctx, const float* dout, const int32_t* ids,
                          int64_t count, int64_t dim, float* table_grad, int64_t vocab) {
  if (bad_id(ctx, "embedding_scatter_add", ids, count, vocab)) return 1;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t e = 0; e < dim; ++e) table_grad[int64_t(ids[i]) * dim + e] += dout[i * dim + e];
  return 0;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const m3oe_cuda_plugin* m3oe_cuda_plugin_get(
    uint32_t) {
  static const m3oe_cuda_plugin table = {
      FAKE_MODE == 1 ? 999u : M3OE_CUDA_ABI_VERSION,
      sizeof(m3oe_cuda_plugin),
      "fake plugin (no CUDA)",
      probe, create, destroy, last_error, pool_stats,
      gemm, layernorm_forward, layernorm_backward, softmax_rows_forward, softmax_rows_backward,
      bias_layernorm_relu_forward, bias_layernorm_relu_backward,
      axpy, add, mul, relu_forward, relu_backward,
      embedding_gather, embedding_scatter_add,
  };
  return &table;
}
#endif
