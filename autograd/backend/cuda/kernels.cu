// kernels.cu: the CUDA kernels of the plugin (the only file nvcc compiles).
//
// Row kernels give one warp (32 threads) to each row: the lanes stride along
// the row and combine their partial sums with a butterfly of register
// shuffles (__shfl_xor_sync), after which every lane holds the same total.
// This suits the layer widths of the model (16..1024 columns) without any
// shared memory. Sums over rows (dgamma, dbeta, dbias) are done in two
// deterministic passes (column_sums_acc), never with atomics.
#include "kernels.hpp"

#include <cuda_runtime.h>

#include <cmath>

namespace m3oe_cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kBlock = kWarp * kWarpsPerBlock;  // 256 threads in every launch
constexpr int kColumnChunk = 256;               // rows per partial column sum
constexpr std::int64_t kMaxBlocks = 1 << 20;    // grid-stride loops cap the grid

__device__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ float warp_max(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// The row owned by the calling warp (the same for its 32 lanes, so a warp
// that returns early returns as a whole and the shuffles stay full-warp).
__device__ std::int64_t warp_row() {
  return std::int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
}
__device__ int lane() { return int(threadIdx.x % kWarp); }

unsigned row_blocks(std::int64_t rows) {
  return unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}
unsigned flat_blocks(std::int64_t n) {
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  return unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}
__device__ std::int64_t flat_start() { return std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ std::int64_t flat_stride() { return std::int64_t(blockDim.x) * gridDim.x; }

__global__ void self_test_kernel(int* out) { *out = 42; }

__global__ void layernorm_forward_kernel(const float* x, const float* gamma, const float* beta,
                                         std::int64_t rows, int cols, float eps, float* out,
                                         float* mean, float* rstd) {
  const std::int64_t row = warp_row();
  if (row >= rows) return;
  const float* xr = x + row * cols;
  float s = 0.f;
  for (int j = lane(); j < cols; j += kWarp) s += xr[j];
  const float mu = warp_sum(s) / float(cols);
  float v = 0.f;  // two passes: the variance of centred values loses nothing
  for (int j = lane(); j < cols; j += kWarp) v += (xr[j] - mu) * (xr[j] - mu);
  const float rs = 1.f / sqrtf(warp_sum(v) / float(cols) + eps);
  float* o = out + row * cols;
  for (int j = lane(); j < cols; j += kWarp) o[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
  if (lane() == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

// With xhat = (x - mean) * rstd and g = dout * gamma:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
__global__ void layernorm_backward_rows_kernel(const float* dout, const float* x,
                                               const float* gamma, const float* mean,
                                               const float* rstd, std::int64_t rows, int cols,
                                               float* dx, float* xhat_out) {
  const std::int64_t row = warp_row();
  if (row >= rows) return;
  const float mu = mean[row], rs = rstd[row];
  const float* xr = x + row * cols;
  const float* dr = dout + row * cols;
  float g_sum = 0.f, gx_sum = 0.f;
  for (int j = lane(); j < cols; j += kWarp) {
    const float xhat = (xr[j] - mu) * rs;
    const float g = dr[j] * gamma[j];
    g_sum += g;
    gx_sum += g * xhat;
  }
  const float g_mean = warp_sum(g_sum) / float(cols);
  const float gx_mean = warp_sum(gx_sum) / float(cols);
  for (int j = lane(); j < cols; j += kWarp) {
    const float xhat = (xr[j] - mu) * rs;
    if (xhat_out) xhat_out[row * cols + j] = xhat;
    if (dx) dx[row * cols + j] += rs * (dr[j] * gamma[j] - g_mean - xhat * gx_mean);
  }
}

__global__ void softmax_forward_kernel(const float* x, std::int64_t rows, int cols, float* out) {
  const std::int64_t row = warp_row();
  if (row >= rows) return;
  const float* xr = x + row * cols;
  float* o = out + row * cols;
  float mx = -INFINITY;
  for (int j = lane(); j < cols; j += kWarp) mx = fmaxf(mx, xr[j]);
  mx = warp_max(mx);
  float s = 0.f;
  for (int j = lane(); j < cols; j += kWarp) {
    const float e = expf(xr[j] - mx);
    o[j] = e;
    s += e;
  }
  s = warp_sum(s);
  for (int j = lane(); j < cols; j += kWarp) o[j] /= s;
}

// dx += y * (dy - sum(dy * y)) per row.
__global__ void softmax_backward_kernel(const float* y, const float* dy, std::int64_t rows,
                                        int cols, float* dx) {
  const std::int64_t row = warp_row();
  if (row >= rows) return;
  const float* yr = y + row * cols;
  const float* dr = dy + row * cols;
  float dot = 0.f;
  for (int j = lane(); j < cols; j += kWarp) dot += dr[j] * yr[j];
  dot = warp_sum(dot);
  for (int j = lane(); j < cols; j += kWarp) dx[row * cols + j] += yr[j] * (dr[j] - dot);
}

__global__ void bias_layernorm_relu_forward_kernel(const float* t, const float* bias,
                                                   const float* gamma, const float* beta,
                                                   std::int64_t rows, int cols, float eps,
                                                   float* z, float* xhat, float* rstd) {
  const std::int64_t row = warp_row();
  if (row >= rows) return;
  const float* tr = t + row * cols;
  auto u = [&](int j) { return bias ? tr[j] + bias[j] : tr[j]; };  // t + bias
  float s = 0.f;
  for (int j = lane(); j < cols; j += kWarp) s += u(j);
  const float mu = warp_sum(s) / float(cols);
  float v = 0.f;
  for (int j = lane(); j < cols; j += kWarp) v += (u(j) - mu) * (u(j) - mu);
  const float rs = 1.f / sqrtf(warp_sum(v) / float(cols) + eps);
  for (int j = lane(); j < cols; j += kWarp) {
    const float xh = (u(j) - mu) * rs;
    xhat[row * cols + j] = xh;
    z[row * cols + j] = fmaxf(gamma[j] * xh + beta[j], 0.f);
  }
  if (lane() == 0) rstd[row] = rs;
}

// dy = dz * (z > 0) (relu), then the layer-norm backward of dy on the saved
// xhat: dt = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
// The bias add passes dt through unchanged, so dbias = sum_rows(dt).
__global__ void bias_layernorm_relu_backward_rows_kernel(const float* dz, const float* z,
                                                         const float* xhat, const float* rstd,
                                                         const float* gamma, std::int64_t rows,
                                                         int cols, float* dy_out, float* dt) {
  const std::int64_t row = warp_row();
  if (row >= rows) return;
  const std::int64_t base = row * cols;
  const float rs = rstd[row];
  float g_sum = 0.f, gx_sum = 0.f;
  for (int j = lane(); j < cols; j += kWarp) {
    const float dy = z[base + j] > 0.f ? dz[base + j] : 0.f;
    dy_out[base + j] = dy;
    const float g = dy * gamma[j];
    g_sum += g;
    gx_sum += g * xhat[base + j];
  }
  const float g_mean = warp_sum(g_sum) / float(cols);
  const float gx_mean = warp_sum(gx_sum) / float(cols);
  for (int j = lane(); j < cols; j += kWarp) {
    dt[base + j] = rs * (dy_out[base + j] * gamma[j] - g_mean - xhat[base + j] * gx_mean);
  }
}

// partial[c,j] = sum of a[r,j] (* b[r,j]) over the rows r of chunk c.
__global__ void column_partial_kernel(const float* a, const float* b, std::int64_t rows,
                                      int cols, float* partial) {
  const int j = int(blockIdx.y) * blockDim.x + threadIdx.x;
  if (j >= cols) return;
  const std::int64_t chunk = blockIdx.x;
  const std::int64_t r0 = chunk * kColumnChunk;
  const std::int64_t r1 = r0 + kColumnChunk < rows ? r0 + kColumnChunk : rows;
  float s = 0.f;
  for (std::int64_t r = r0; r < r1; ++r) s += b ? a[r * cols + j] * b[r * cols + j] : a[r * cols + j];
  partial[chunk * cols + j] = s;
}

__global__ void column_finish_kernel(const float* partial, std::int64_t chunks, int cols,
                                     float* acc) {
  const int j = int(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= cols) return;
  float s = 0.f;
  for (std::int64_t c = 0; c < chunks; ++c) s += partial[c * cols + j];
  acc[j] += s;
}

__global__ void axpy_kernel(std::int64_t n, float alpha, const float* x, float* y) {
  for (std::int64_t i = flat_start(); i < n; i += flat_stride()) y[i] += alpha * x[i];
}
__global__ void add_kernel(std::int64_t n, const float* a, const float* b, float* out) {
  for (std::int64_t i = flat_start(); i < n; i += flat_stride()) out[i] = a[i] + b[i];
}
__global__ void mul_kernel(std::int64_t n, const float* a, const float* b, float* out) {
  for (std::int64_t i = flat_start(); i < n; i += flat_stride()) out[i] = a[i] * b[i];
}
__global__ void relu_forward_kernel(std::int64_t n, const float* x, float* out) {
  for (std::int64_t i = flat_start(); i < n; i += flat_stride()) out[i] = x[i] > 0.f ? x[i] : 0.f;
}
__global__ void relu_backward_kernel(std::int64_t n, const float* y, const float* dy, float* dx) {
  for (std::int64_t i = flat_start(); i < n; i += flat_stride())
    if (y[i] > 0.f) dx[i] += dy[i];
}

__global__ void embedding_gather_kernel(const float* table, int dim, const std::int32_t* ids,
                                        std::int64_t count, float* out) {
  const std::int64_t n = count * dim;
  for (std::int64_t idx = flat_start(); idx < n; idx += flat_stride()) {
    const std::int64_t i = idx / dim, e = idx % dim;
    out[idx] = table[std::int64_t(ids[i]) * dim + e];
  }
}

__global__ void embedding_accumulate_kernel(const float* dout, int dim, const std::int32_t* order,
                                            const std::int32_t* offsets, std::int64_t unique_rows,
                                            float* rows_buf) {
  const std::int64_t n = unique_rows * dim;
  for (std::int64_t idx = flat_start(); idx < n; idx += flat_stride()) {
    const std::int64_t u = idx / dim, e = idx % dim;
    float acc = rows_buf[idx];
    for (std::int32_t p = offsets[u]; p < offsets[u + 1]; ++p)
      acc += dout[std::int64_t(order[p]) * dim + e];
    rows_buf[idx] = acc;
  }
}

}  // namespace

cudaError_t self_test(cudaStream_t stream, int* scratch_device) {
  cudaFuncAttributes attributes;
  // Fails with cudaErrorNoKernelImageForDevice (or cudaErrorInvalidDeviceFunction)
  // when this binary holds neither SASS for the device nor PTX it can JIT.
  cudaError_t err = cudaFuncGetAttributes(&attributes, self_test_kernel);
  if (err != cudaSuccess) return err;
  self_test_kernel<<<1, 1, 0, stream>>>(scratch_device);
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  int value = 0;
  err = cudaMemcpyAsync(&value, scratch_device, sizeof(int), cudaMemcpyDeviceToHost, stream);
  if (err != cudaSuccess) return err;
  if ((err = cudaStreamSynchronize(stream)) != cudaSuccess) return err;
  return value == 42 ? cudaSuccess : cudaErrorUnknown;
}

cudaError_t layernorm_forward(cudaStream_t s, const float* x, const float* gamma,
                              const float* beta, std::int64_t rows, int cols, float eps,
                              float* out, float* mean, float* rstd) {
  if (rows == 0) return cudaSuccess;
  layernorm_forward_kernel<<<row_blocks(rows), kBlock, 0, s>>>(x, gamma, beta, rows, cols, eps,
                                                               out, mean, rstd);
  return cudaGetLastError();
}

cudaError_t layernorm_backward_rows(cudaStream_t s, const float* dout, const float* x,
                                    const float* gamma, const float* mean, const float* rstd,
                                    std::int64_t rows, int cols, float* dx, float* xhat_out) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  layernorm_backward_rows_kernel<<<row_blocks(rows), kBlock, 0, s>>>(dout, x, gamma, mean, rstd,
                                                                     rows, cols, dx, xhat_out);
  return cudaGetLastError();
}

cudaError_t softmax_rows_forward(cudaStream_t s, const float* x, std::int64_t rows, int cols,
                                 float* out) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  softmax_forward_kernel<<<row_blocks(rows), kBlock, 0, s>>>(x, rows, cols, out);
  return cudaGetLastError();
}

cudaError_t softmax_rows_backward(cudaStream_t s, const float* y, const float* dy,
                                  std::int64_t rows, int cols, float* dx) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  softmax_backward_kernel<<<row_blocks(rows), kBlock, 0, s>>>(y, dy, rows, cols, dx);
  return cudaGetLastError();
}

cudaError_t bias_layernorm_relu_forward(cudaStream_t s, const float* t, const float* bias,
                                        const float* gamma, const float* beta, std::int64_t rows,
                                        int cols, float eps, float* z, float* xhat, float* rstd) {
  if (rows == 0) return cudaSuccess;
  bias_layernorm_relu_forward_kernel<<<row_blocks(rows), kBlock, 0, s>>>(
      t, bias, gamma, beta, rows, cols, eps, z, xhat, rstd);
  return cudaGetLastError();
}

cudaError_t bias_layernorm_relu_backward_rows(cudaStream_t s, const float* dz, const float* z,
                                              const float* xhat, const float* rstd,
                                              const float* gamma, std::int64_t rows, int cols,
                                              float* dy_out, float* dt) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  bias_layernorm_relu_backward_rows_kernel<<<row_blocks(rows), kBlock, 0, s>>>(
      dz, z, xhat, rstd, gamma, rows, cols, dy_out, dt);
  return cudaGetLastError();
}

std::int64_t column_sum_scratch(std::int64_t rows, int cols) {
  return (rows + kColumnChunk - 1) / kColumnChunk * std::int64_t(cols);
}

cudaError_t column_sums_acc(cudaStream_t s, const float* a, const float* b, std::int64_t rows,
                            int cols, float* partial, float* acc) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const std::int64_t chunks = (rows + kColumnChunk - 1) / kColumnChunk;
  const unsigned column_blocks = unsigned((cols + kBlock - 1) / kBlock);
  column_partial_kernel<<<dim3(unsigned(chunks), column_blocks), kBlock, 0, s>>>(a, b, rows, cols,
                                                                                partial);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  column_finish_kernel<<<column_blocks, kBlock, 0, s>>>(partial, chunks, cols, acc);
  return cudaGetLastError();
}

cudaError_t axpy(cudaStream_t s, std::int64_t n, float alpha, const float* x, float* y) {
  if (n == 0) return cudaSuccess;
  axpy_kernel<<<flat_blocks(n), kBlock, 0, s>>>(n, alpha, x, y);
  return cudaGetLastError();
}

cudaError_t add(cudaStream_t s, std::int64_t n, const float* a, const float* b, float* out) {
  if (n == 0) return cudaSuccess;
  add_kernel<<<flat_blocks(n), kBlock, 0, s>>>(n, a, b, out);
  return cudaGetLastError();
}

cudaError_t mul(cudaStream_t s, std::int64_t n, const float* a, const float* b, float* out) {
  if (n == 0) return cudaSuccess;
  mul_kernel<<<flat_blocks(n), kBlock, 0, s>>>(n, a, b, out);
  return cudaGetLastError();
}

cudaError_t relu_forward(cudaStream_t s, std::int64_t n, const float* x, float* out) {
  if (n == 0) return cudaSuccess;
  relu_forward_kernel<<<flat_blocks(n), kBlock, 0, s>>>(n, x, out);
  return cudaGetLastError();
}

cudaError_t relu_backward(cudaStream_t s, std::int64_t n, const float* y, const float* dy,
                          float* dx) {
  if (n == 0) return cudaSuccess;
  relu_backward_kernel<<<flat_blocks(n), kBlock, 0, s>>>(n, y, dy, dx);
  return cudaGetLastError();
}

cudaError_t embedding_gather(cudaStream_t s, const float* table, int dim, const std::int32_t* ids,
                             std::int64_t count, float* out) {
  if (count == 0 || dim == 0) return cudaSuccess;
  embedding_gather_kernel<<<flat_blocks(count * dim), kBlock, 0, s>>>(table, dim, ids, count, out);
  return cudaGetLastError();
}

cudaError_t embedding_accumulate_rows(cudaStream_t s, const float* dout, int dim,
                                      const std::int32_t* order, const std::int32_t* offsets,
                                      std::int64_t unique_rows, float* rows_buf) {
  if (unique_rows == 0 || dim == 0) return cudaSuccess;
  embedding_accumulate_kernel<<<flat_blocks(unique_rows * dim), kBlock, 0, s>>>(
      dout, dim, order, offsets, unique_rows, rows_buf);
  return cudaGetLastError();
}

}  // namespace m3oe_cuda
