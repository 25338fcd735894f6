// context.hpp: what a plugin context holds, and the helpers every entry of
// the C table uses (plugin side, plain C++ on the CUDA runtime API).
#pragma once

#include "device_pool.hpp"
#include "plugin_abi.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <climits>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

struct m3oe_cuda_context {
  int device = 0;
  cudaStream_t stream = nullptr;  // every copy, kernel and GEMM of the context
  cublasHandle_t blas = nullptr;
  m3oe_cuda::DevicePool pool;
  std::mutex mutex;   // serialises calls (the ABI allows several threads)
  std::string error;  // last_error()
};

namespace m3oe_cuda {

// Turns a CUDA or cuBLAS status into an exception naming the call.
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear a non-sticky error for the next call
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
  }
}
inline void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": " + cublasGetStatusString(status));
}

// Sizes come in as int64 from the ABI; kernels index columns with int.
inline int as_int(std::int64_t v, const char* name) {
  if (v < 0 || v > INT_MAX)
    throw std::runtime_error(std::string(name) + " = " + std::to_string(v) +
                             " is outside [0, INT_MAX]");
  return int(v);
}
inline void require(const void* p, const char* name) {
  if (!p) throw std::runtime_error(std::string(name) + " is NULL");
}

// Runs `body` on the context's device under its lock, waits for the stream,
// and turns any exception into a nonzero return with last_error set: no
// exception ever crosses the C boundary.
template <class Body>
int guarded(m3oe_cuda_context* ctx, const char* op, Body&& body) {
  if (!ctx) return 1;
  std::lock_guard<std::mutex> lock(ctx->mutex);
  try {
    check(cudaSetDevice(ctx->device), "cudaSetDevice");
    body(*ctx);
    check(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
    ctx->error.clear();
    return 0;
  } catch (const std::exception& e) {
    ctx->error = std::string(op) + ": " + e.what();
    return 1;
  }
}

// Host -> device and back, on the context's stream. The 2-D forms read and
// write a host matrix with row stride `ld` (>= cols); the device side is dense.
inline void upload(m3oe_cuda_context& c, void* dst, const void* src, std::size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c.stream), "upload");
}
inline void download(m3oe_cuda_context& c, void* dst, const void* src, std::size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c.stream), "download");
}
inline void upload_2d(m3oe_cuda_context& c, float* dst, const float* src, std::int64_t rows,
                      std::int64_t cols, std::int64_t ld) {
  if (rows == 0 || cols == 0) return;
  check(cudaMemcpy2DAsync(dst, cols * sizeof(float), src, ld * sizeof(float),
                          cols * sizeof(float), rows, cudaMemcpyHostToDevice, c.stream),
        "upload_2d");
}
inline void download_2d(m3oe_cuda_context& c, float* dst, const float* src, std::int64_t rows,
                        std::int64_t cols, std::int64_t ld) {
  if (rows == 0 || cols == 0) return;
  check(cudaMemcpy2DAsync(dst, ld * sizeof(float), src, cols * sizeof(float),
                          cols * sizeof(float), rows, cudaMemcpyDeviceToHost, c.stream),
        "download_2d");
}

// The kernel entries of the C table (host_ops.cpp).
int gemm(m3oe_cuda_context* ctx, int trans_a, int trans_b, std::int64_t m, std::int64_t n,
         std::int64_t k, float alpha, const float* a, std::int64_t lda, const float* b,
         std::int64_t ldb, float beta, float* c, std::int64_t ldc);
int layernorm_forward(m3oe_cuda_context* ctx, const float* x, const float* gamma,
                      const float* beta, std::int64_t rows, std::int64_t cols, float eps,
                      float* out, float* mean, float* rstd);
int layernorm_backward(m3oe_cuda_context* ctx, const float* dout, const float* x,
                       const float* gamma, const float* mean, const float* rstd,
                       std::int64_t rows, std::int64_t cols, float* dx, float* dgamma,
                       float* dbeta);
int softmax_rows_forward(m3oe_cuda_context* ctx, const float* x, std::int64_t rows,
                         std::int64_t cols, float* out);
int softmax_rows_backward(m3oe_cuda_context* ctx, const float* y, const float* dy,
                          std::int64_t rows, std::int64_t cols, float* dx);
int bias_layernorm_relu_forward(m3oe_cuda_context* ctx, const float* t, const float* bias,
                                const float* gamma, const float* beta, std::int64_t rows,
                                std::int64_t cols, float eps, float* z, float* xhat, float* rstd);
int bias_layernorm_relu_backward(m3oe_cuda_context* ctx, const float* dz, const float* z,
                                 const float* xhat, const float* rstd, const float* gamma,
                                 std::int64_t rows, std::int64_t cols, float* dt, float* dbias,
                                 float* dgamma, float* dbeta);
int axpy(m3oe_cuda_context* ctx, std::int64_t n, float alpha, const float* x, float* y);
int add(m3oe_cuda_context* ctx, std::int64_t n, const float* a, const float* b, float* out);
int mul(m3oe_cuda_context* ctx, std::int64_t n, const float* a, const float* b, float* out);
int relu_forward(m3oe_cuda_context* ctx, std::int64_t n, const float* x, float* out);
int relu_backward(m3oe_cuda_context* ctx, std::int64_t n, const float* y, const float* dy,
                  float* dx);
int embedding_gather(m3oe_cuda_context* ctx, const float* table, std::int64_t vocab,
                     std::int64_t dim, const std::int32_t* ids, std::int64_t count, float* out);
int embedding_scatter_add(m3oe_cuda_context* ctx, const float* dout, const std::int32_t* ids,
                          std::int64_t count, std::int64_t dim, float* table_grad,
                          std::int64_t vocab);

}  // namespace m3oe_cuda
