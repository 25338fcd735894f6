/* plugin_abi.h: the C interface between m3oe.cpp and its CUDA plugin.
 *
 * The core library never links against CUDA. The CUDA kernels live in a
 * separate shared module (libm3oe_cuda.so, built only when nvcc is found)
 * that the core opens at run time with dlopen (autograd/backend/cuda_loader).
 * The two sides meet only through this header, in plain C, so that the
 * plugin and the core may be built by different compilers and at different
 * times without any C++ name mangling or exception crossing between them.
 *
 * The plugin exports ONE symbol, M3OE_CUDA_ENTRY_POINT, of type
 * m3oe_cuda_plugin_get_fn. It returns a pointer to a static, immutable table
 * of function pointers (m3oe_cuda_plugin).
 *
 * Versioning rules (see docs/cuda.md):
 *  - `abi_version` and `struct_size` are the first two fields and never move,
 *    so any loader can read them from any plugin, old or new.
 *  - Any change to the table (a field added, removed or reordered, a
 *    signature or a documented meaning changed) increments
 *    M3OE_CUDA_ABI_VERSION. There are no compatible minor versions: the
 *    loader accepts a plugin only when both numbers match its own exactly.
 *  - The entry point always returns its table (never NULL), whatever version
 *    is asked for, so that the loader can say which version it found.
 *
 * Conventions of the kernels: every pointer is HOST memory holding float,
 * row-major; the plugin copies inputs to the GPU, runs, and copies results
 * back before returning (see docs/cuda.md for the cost). "acc" outputs are
 * accumulated into (+=), the others overwritten; an acc output may be NULL
 * when it is not wanted. Kernels return 0 on success and nonzero on failure,
 * and then last_error(ctx) says why. A context may be used from several
 * threads; its calls are serialised.
 */
#ifndef M3OE_CUDA_PLUGIN_ABI_H
#define M3OE_CUDA_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define M3OE_CUDA_ABI_VERSION 1u
#define M3OE_CUDA_ENTRY_POINT "m3oe_cuda_plugin_get"

/* One device, its cuBLAS handle, its stream and its memory cache. */
typedef struct m3oe_cuda_context m3oe_cuda_context;

/* What probe() found. `usable` is 1 when create() will work on `device`. */
typedef struct m3oe_cuda_probe_result {
  int usable;
  int device_count;     /* devices the runtime sees (0 when none or no driver) */
  int device;           /* the device asked about */
  int cc_major;         /* compute capability of `device` (0 when unknown) */
  int cc_minor;
  int runtime_version;  /* CUDA runtime the plugin runs on, e.g. 13000 */
  int driver_version;   /* newest CUDA the driver supports, 0 without a driver */
  uint64_t total_memory; /* bytes of device memory */
  char name[256];       /* device name, "" when unknown */
  char message[512];    /* when not usable: why, in one line; else a summary */
} m3oe_cuda_probe_result;

/* The device memory cache of a context (see device_pool.hpp). */
typedef struct m3oe_cuda_pool_stats {
  uint64_t device_mallocs;  /* cudaMalloc calls made so far */
  uint64_t reuses;          /* requests served from the cache instead */
  uint64_t bytes_reserved;  /* device bytes held now, in use plus cached */
} m3oe_cuda_pool_stats;

typedef struct m3oe_cuda_plugin {
  uint32_t abi_version;  /* == M3OE_CUDA_ABI_VERSION of the plugin's build */
  uint32_t struct_size;  /* == sizeof(m3oe_cuda_plugin) of the plugin's build */
  const char* build_info; /* e.g. "CUDA 13.0, sm_90 + compute_80 PTX" */

  /* Can `device` run this plugin's kernels? Never fails; fills `out`. */
  void (*probe)(int device, m3oe_cuda_probe_result* out);
  /* A context on `device`, or NULL with the reason written to `error`. */
  m3oe_cuda_context* (*create)(int device, char* error, size_t error_size);
  void (*destroy)(m3oe_cuda_context* ctx);
  /* The reason of the last failed call on ctx ("" if none). */
  const char* (*last_error)(const m3oe_cuda_context* ctx);
  void (*pool_stats)(const m3oe_cuda_context* ctx, m3oe_cuda_pool_stats* out);

  /* c[m,n] = alpha * op(a)[m,k] @ op(b)[k,n] + beta * c, where op(a) is a
   * (a is [m,k], lda >= k) or a^T (a is [k,m], lda >= m); the same for b;
   * ldc >= n. beta == 0 does not read c. Full float precision (no TF32). */
  int (*gemm)(m3oe_cuda_context* ctx, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
              float* c, int64_t ldc);

  /* out[r,:] = gamma * (x[r,:] - mean_r) * rstd_r + beta, biased variance,
   * rstd_r = 1/sqrt(var_r + eps); saves mean[rows], rstd[rows]. */
  int (*layernorm_forward)(m3oe_cuda_context* ctx, const float* x, const float* gamma,
                           const float* beta, int64_t rows, int64_t cols, float eps, float* out,
                           float* mean, float* rstd);
  /* dx (acc), dgamma (acc), dbeta (acc); with xhat = (x - mean) * rstd and
   * g = dout * gamma: dx = rstd * (g - mean_row(g) - xhat * mean_row(g*xhat)). */
  int (*layernorm_backward)(m3oe_cuda_context* ctx, const float* dout, const float* x,
                            const float* gamma, const float* mean, const float* rstd,
                            int64_t rows, int64_t cols, float* dx, float* dgamma, float* dbeta);

  /* out[r,:] = softmax(x[r,:]). */
  int (*softmax_rows_forward)(m3oe_cuda_context* ctx, const float* x, int64_t rows, int64_t cols,
                              float* out);
  /* dx (acc) = y * (dy - sum_row(dy * y)). */
  int (*softmax_rows_backward)(m3oe_cuda_context* ctx, const float* y, const float* dy,
                               int64_t rows, int64_t cols, float* dx);

  /* The fused hidden layer tail: with v = t[r,:] + bias (bias may be NULL:
   * no bias), xhat = (v - mean_row(v)) * rstd_r, z = relu(gamma * xhat + beta).
   * Saves xhat[rows,cols] and rstd[rows] for the backward. */
  int (*bias_layernorm_relu_forward)(m3oe_cuda_context* ctx, const float* t, const float* bias,
                                     const float* gamma, const float* beta, int64_t rows,
                                     int64_t cols, float eps, float* z, float* xhat,
                                     float* rstd);
  /* From dz and the saved z, xhat, rstd: dy = dz * (z > 0), g = dy * gamma,
   * dt (OVERWRITTEN) = rstd * (g - mean_row(g) - xhat * mean_row(g * xhat)),
   * dbias (acc) += sum_rows(dt), dgamma (acc) += sum_rows(dy * xhat),
   * dbeta (acc) += sum_rows(dy). Any of the four outputs may be NULL. */
  int (*bias_layernorm_relu_backward)(m3oe_cuda_context* ctx, const float* dz, const float* z,
                                      const float* xhat, const float* rstd, const float* gamma,
                                      int64_t rows, int64_t cols, float* dt, float* dbias,
                                      float* dgamma, float* dbeta);

  /* Elementwise on n floats. */
  int (*axpy)(m3oe_cuda_context* ctx, int64_t n, float alpha, const float* x, float* y); /* y += alpha*x */
  int (*add)(m3oe_cuda_context* ctx, int64_t n, const float* a, const float* b, float* out);
  int (*mul)(m3oe_cuda_context* ctx, int64_t n, const float* a, const float* b, float* out);
  int (*relu_forward)(m3oe_cuda_context* ctx, int64_t n, const float* x, float* out);
  /* dx (acc) += dy * (y > 0), y the relu output. */
  int (*relu_backward)(m3oe_cuda_context* ctx, int64_t n, const float* y, const float* dy,
                       float* dx);

  /* out[i,:] = table[ids[i],:]; table is [vocab,dim], out [count,dim].
   * An id outside [0,vocab) fails naming it. */
  int (*embedding_gather)(m3oe_cuda_context* ctx, const float* table, int64_t vocab, int64_t dim,
                          const int32_t* ids, int64_t count, float* out);
  /* table_grad[ids[i],:] += dout[i,:] (acc), in the order i = 0, 1, ..., so
   * the result does not depend on the GPU's scheduling. */
  int (*embedding_scatter_add)(m3oe_cuda_context* ctx, const float* dout, const int32_t* ids,
                               int64_t count, int64_t dim, float* table_grad, int64_t vocab);
} m3oe_cuda_plugin;

/* The one exported symbol. `wanted_abi_version` is the loader's version (the
 * plugin may use it for a message; it returns its own table regardless). */
typedef const m3oe_cuda_plugin* (*m3oe_cuda_plugin_get_fn)(uint32_t wanted_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* M3OE_CUDA_PLUGIN_ABI_H */
