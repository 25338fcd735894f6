// cuda_loader.hpp: the optional CUDA backend, found and opened at run time.
//
// The core library never links against CUDA. When the project was built
// with nvcc present, the kernels sit in a separate module, libm3oe_cuda.so
// (autograd/backend/cuda/), that this loader opens with dlopen, checks
// (ABI version, a GPU that can run its kernels), and wraps in CudaBackend, a
// Backend like any other. On any failure the loader says why in one line
// and the caller keeps the CPU backend: a machine without a GPU (or a build
// without nvcc) runs everything the same, only on the CPU.
//
//   std::string message;
//   backend::Backend& b = backend::select_device("cuda", &message);
//   std::cerr << message << "\n";      // what is used, or why not the GPU
//   backend::ScopedBackend use(b);     // the ops now run their hot kernels on b
//
// The plugin is looked for, in order: the path given by the caller; else the
// file named by the environment variable M3OE_CUDA_PLUGIN; else next to the
// executable and in the build tree's autograd/backend/cuda/ seen from it;
// else by the dynamic linker's search path. See docs/cuda.md.
#pragma once

#include "autograd/backend/backend.hpp"
#include "autograd/backend/cuda/plugin_abi.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace m3oe::backend {

enum class CudaStatus {
  ok,              // loaded, device usable, context created
  not_found,       // no plugin file at any place looked at
  load_failed,     // dlopen failed (missing libcudart/libcublas, not a library...)
  no_entry_point,  // the file has no m3oe_cuda_plugin_get
  abi_mismatch,    // built against another plugin_abi.h
  no_device,       // no GPU, no driver, or a GPU the kernels were not built for
  context_failed,  // the device is there but cuBLAS/stream creation failed
  double_build,    // this is the M3OE_DOUBLE build; the plugin computes in float
};
const char* to_string(CudaStatus status);

struct CudaLoadOptions;
struct CudaLoadResult;

struct CudaDeviceInfo {
  int index = 0;         // the device asked for
  int count = 0;         // devices the CUDA runtime sees
  std::string name;      // "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;
  std::uint64_t total_memory = 0;  // bytes
  int runtime_version = 0, driver_version = 0;  // 13000 = 13.0
  std::string summary;   // the plugin's one-line description (or why unusable)
};

// The Backend that runs its kernels in the plugin. Inputs are copied to the
// GPU and results back on every call (see docs/cuda.md for that cost).
// A kernel that fails throws std::runtime_error naming the kernel and the
// CUDA error.
class CudaBackend final : public Backend {
 public:
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;
  const char* name() const override { return "cuda"; }

  using Backend::gemm;  // gemm(const GemmCall&)

  void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, real alpha, const real* a,
            Index lda, const real* b, Index ldb, real beta, real* c, Index ldc) override;
  void layernorm_forward(const real* x, const real* gamma, const real* beta, Index rows,
                         Index cols, real eps, real* out, real* mean, real* rstd) override;
  void layernorm_backward(const real* dout, const real* x, const real* gamma, const real* mean,
                          const real* rstd, Index rows, Index cols, real* dx, real* dgamma,
                          real* dbeta) override;
  void softmax_rows_forward(const real* x, Index rows, Index cols, real* out) override;
  void softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols,
                             real* dx) override;
  void bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                   const real* beta, Index rows, Index cols, real eps, real* z,
                                   real* xhat, real* rstd) override;
  void bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                    const real* rstd, const real* gamma, Index rows, Index cols,
                                    real* dt, real* dbias, real* dgamma, real* dbeta) override;
  // The plugin ABI (version 1) has no grouped LayerNorm kernel: these run on
  // the CPU backend's kernels (docs/cuda.md).
  void grouped_bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                           const real* beta, Index rows, Index groups,
                                           Index width, real eps, real* z, real* xhat,
                                           real* rstd) override {
    default_cpu().grouped_bias_layernorm_relu_forward(t, bias, gamma, beta, rows, groups, width,
                                                      eps, z, xhat, rstd);
  }
  void grouped_bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                            const real* rstd, const real* gamma, Index rows,
                                            Index groups, Index width, real* dt, real* dbias,
                                            real* dgamma, real* dbeta) override {
    default_cpu().grouped_bias_layernorm_relu_backward(dz, z, xhat, rstd, gamma, rows, groups,
                                                       width, dt, dbias, dgamma, dbeta);
  }

  // Plugin kernels that the Backend interface does not have (yet): float
  // arrays, semantics as in plugin_abi.h.
  void axpy(Index n, float alpha, const float* x, float* y);  // y += alpha * x
  void add(Index n, const float* a, const float* b, float* out);
  void mul(Index n, const float* a, const float* b, float* out);
  void relu_forward(Index n, const float* x, float* out);
  void relu_backward(Index n, const float* y, const float* dy, float* dx);  // dx += dy*(y>0)
  void embedding_gather(const float* table, Index vocab, Index dim, const std::int32_t* ids,
                        Index count, float* out);
  void embedding_scatter_add(const float* dout, const std::int32_t* ids, Index count, Index dim,
                             float* table_grad, Index vocab);

  const CudaDeviceInfo& device() const { return device_; }
  const std::string& plugin_path() const { return plugin_path_; }
  const std::string& build_info() const { return build_info_; }
  // The plugin's device memory cache: cudaMalloc calls, reuses, bytes held.
  m3oe_cuda_pool_stats pool_stats() const;

 private:
  friend CudaLoadResult load_cuda(const CudaLoadOptions& options);
  CudaBackend(const m3oe_cuda_plugin* api, m3oe_cuda_context* ctx, CudaDeviceInfo device,
              std::string plugin_path);
  void check(int rc, const char* kernel) const;  // throws with the plugin's last_error

  const m3oe_cuda_plugin* api_;
  m3oe_cuda_context* ctx_;
  CudaDeviceInfo device_;
  std::string plugin_path_;
  std::string build_info_;
};

struct CudaLoadOptions {
  std::string plugin_path;  // empty: M3OE_CUDA_PLUGIN, then the default places
  int device = 0;           // CUDA device index
};

struct CudaLoadResult {
  CudaStatus status = CudaStatus::not_found;
  std::string message;               // one line: what was loaded, or why not
  std::string plugin_path;           // the plugin file (empty when not found)
  std::uint32_t plugin_abi_version = 0;
  std::string build_info;            // the plugin's "CUDA 13.0, sm_90 SASS + ..."
  CudaDeviceInfo device;             // filled once the plugin's probe ran
  std::unique_ptr<CudaBackend> backend;  // set iff status == ok
};

// Every place looked at for the plugin when no path is given, in order
// (the last entry is the bare file name, resolved by the dynamic linker).
std::vector<std::string> cuda_plugin_candidates();

// Finds, opens, checks and probes the plugin, then creates a context.
CudaLoadResult load_cuda(const CudaLoadOptions& options = {});

// The short form: the backend, or nullptr with the reason in *why_not.
std::unique_ptr<Backend> load_cuda_backend(std::string* why_not,
                                           const std::string& plugin_path = {});

// For a command line's --device: "cpu", "cuda" (device 0) or "cuda:N".
// Returns the backend to use (it lives until the process ends; activate it
// with set_active() or ScopedBackend) and writes one line for the user into
// *message: the device used, or why CUDA is unavailable and that the CPU
// backend is used instead. Loads the plugin once per device; later calls
// return the same backend. Throws std::invalid_argument for any other name.
Backend& select_device(const std::string& device, std::string* message);

}  // namespace m3oe::backend
