// kernels.hpp: the device kernels of the plugin, as plain C++ launchers.
//
// Only kernels.cu is compiled by nvcc; everything else in the plugin is
// ordinary C++ that calls these. All pointers are DEVICE pointers to dense
// row-major arrays; every launcher queues its work on `stream` and returns
// the launch status (it does not wait). Shapes are checked by the caller:
// cols fits in int, rows * cols in int64.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace m3oe_cuda {

// Launches a one-thread kernel that writes 42 and checks it came back: the
// probe's proof that this binary has code the device can run.
cudaError_t self_test(cudaStream_t stream, int* scratch_device);

// ---- row kernels: one warp per row ------------------------------------------
// out = gamma * (x - mean) * rstd + beta; saves mean[rows], rstd[rows].
cudaError_t layernorm_forward(cudaStream_t s, const float* x, const float* gamma,
                              const float* beta, std::int64_t rows, int cols, float eps,
                              float* out, float* mean, float* rstd);
// dx (acc, may be null) and xhat_out[rows,cols] = (x - mean) * rstd (may be null).
cudaError_t layernorm_backward_rows(cudaStream_t s, const float* dout, const float* x,
                                    const float* gamma, const float* mean, const float* rstd,
                                    std::int64_t rows, int cols, float* dx, float* xhat_out);
cudaError_t softmax_rows_forward(cudaStream_t s, const float* x, std::int64_t rows, int cols,
                                 float* out);
cudaError_t softmax_rows_backward(cudaStream_t s, const float* y, const float* dy,
                                  std::int64_t rows, int cols, float* dx);
// z = relu(gamma * xhat + beta), xhat = layernorm of (t + bias); saves xhat, rstd.
// bias may be null (no bias).
cudaError_t bias_layernorm_relu_forward(cudaStream_t s, const float* t, const float* bias,
                                        const float* gamma, const float* beta, std::int64_t rows,
                                        int cols, float eps, float* z, float* xhat, float* rstd);
// dy_out = dz * (z > 0); dt = the layer-norm backward of dy_out (overwritten).
cudaError_t bias_layernorm_relu_backward_rows(cudaStream_t s, const float* dz, const float* z,
                                              const float* xhat, const float* rstd,
                                              const float* gamma, std::int64_t rows, int cols,
                                              float* dy_out, float* dt);

// ---- column sums, deterministic ---------------------------------------------
// acc[j] += sum_r a[r,j] * (b ? b[r,j] : 1), summed in fixed chunks of rows
// and then over the chunks in order, so the result never depends on the
// scheduling. `partial` is scratch of column_sum_scratch(rows, cols) floats.
std::int64_t column_sum_scratch(std::int64_t rows, int cols);
cudaError_t column_sums_acc(cudaStream_t s, const float* a, const float* b, std::int64_t rows,
                            int cols, float* partial, float* acc);

// ---- elementwise on n floats ------------------------------------------------
cudaError_t axpy(cudaStream_t s, std::int64_t n, float alpha, const float* x, float* y);
cudaError_t add(cudaStream_t s, std::int64_t n, const float* a, const float* b, float* out);
cudaError_t mul(cudaStream_t s, std::int64_t n, const float* a, const float* b, float* out);
cudaError_t relu_forward(cudaStream_t s, std::int64_t n, const float* x, float* out);
cudaError_t relu_backward(cudaStream_t s, std::int64_t n, const float* y, const float* dy,
                          float* dx);

// ---- embedding ----------------------------------------------------------------
// out[i,:] = table[ids[i],:] (ids already checked to be in range).
cudaError_t embedding_gather(cudaStream_t s, const float* table, int dim, const std::int32_t* ids,
                             std::int64_t count, float* out);
// For each touched row u (rows_buf[u,:] holds its current gradient):
// rows_buf[u,:] += dout[order[p],:] for p in [offsets[u], offsets[u+1]),
// one thread per (u, column), in order.
cudaError_t embedding_accumulate_rows(cudaStream_t s, const float* dout, int dim,
                                      const std::int32_t* order, const std::int32_t* offsets,
                                      std::int64_t unique_rows, float* rows_buf);

}  // namespace m3oe_cuda
