// plugin.cpp: the one exported symbol of libm3oe_cuda.so, and the probe and
// context entries of its table (the kernels are in host_ops.cpp).
#include "context.hpp"
#include "kernels.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#ifndef M3OE_CUDA_ARCH_INFO
#define M3OE_CUDA_ARCH_INFO "unknown architectures"
#endif

namespace m3oe_cuda {

namespace {

void copy_text(char* dst, std::size_t size, const std::string& text) {
  if (!dst || size == 0) return;
  std::snprintf(dst, size, "%s", text.c_str());
}

std::string version_text(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Why the runtime sees no device, in words a user can act on.
std::string no_device_reason(cudaError_t err) {
  std::string why = cudaGetErrorString(err);
  if (err == cudaErrorInsufficientDriver)
    why += " (no NVIDIA driver is installed, or it is older than CUDA " +
           version_text(CUDART_VERSION) + " needs)";
  else if (err == cudaErrorNoDevice)
    why += " (check the driver with nvidia-smi, and CUDA_VISIBLE_DEVICES)";
  return why;
}

void probe(int device, m3oe_cuda_probe_result* out) {
  if (!out) return;
  *out = m3oe_cuda_probe_result{};
  out->device = device;
  cudaRuntimeGetVersion(&out->runtime_version);
  cudaDriverGetVersion(&out->driver_version);  // 0 without a driver
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    copy_text(out->message, sizeof out->message, no_device_reason(err));
    return;
  }
  out->device_count = count;
  if (count == 0) {
    copy_text(out->message, sizeof out->message, "the CUDA runtime sees no device");
    return;
  }
  if (device < 0 || device >= count) {
    copy_text(out->message, sizeof out->message,
              "device " + std::to_string(device) + " asked for, but only " +
                  std::to_string(count) + " present (0.." + std::to_string(count - 1) + ")");
    return;
  }
  cudaDeviceProp prop;
  if ((err = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) {
    (void)cudaGetLastError();
    copy_text(out->message, sizeof out->message,
              std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(err));
    return;
  }
  copy_text(out->name, sizeof out->name, prop.name);
  out->cc_major = prop.major;
  out->cc_minor = prop.minor;
  out->total_memory = prop.totalGlobalMem;
  const std::string cc = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  // Run a kernel for real: proves the binary has code this device can run.
  void* scratch = nullptr;
  if ((err = cudaSetDevice(device)) == cudaSuccess &&
      (err = cudaMalloc(&scratch, sizeof(int))) == cudaSuccess) {
    err = self_test(nullptr, static_cast<int*>(scratch));
    cudaFree(scratch);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    copy_text(out->message, sizeof out->message,
              std::string(prop.name) + " (compute capability " + cc +
                  ") cannot run the plugin's kernels: " + cudaGetErrorString(err) +
                  " (built for " M3OE_CUDA_ARCH_INFO ")");
    return;
  }
  out->usable = 1;
  char summary[512];
  std::snprintf(summary, sizeof summary,
                "%s, compute capability %s, %.1f GiB, CUDA runtime %s, driver supports CUDA %s",
                prop.name, cc.c_str(), double(prop.totalGlobalMem) / (1024.0 * 1024 * 1024),
                version_text(out->runtime_version).c_str(),
                version_text(out->driver_version).c_str());
  copy_text(out->message, sizeof out->message, summary);
}

void destroy(m3oe_cuda_context* ctx) {
  if (!ctx) return;
  cudaSetDevice(ctx->device);
  if (ctx->stream) cudaStreamSynchronize(ctx->stream);
  ctx->pool.trim();
  if (ctx->blas) cublasDestroy(ctx->blas);
  if (ctx->stream) cudaStreamDestroy(ctx->stream);
  delete ctx;
}

m3oe_cuda_context* create(int device, char* error, std::size_t error_size) {
  auto* ctx = new m3oe_cuda_context;
  ctx->device = device;
  try {
    check(cudaSetDevice(device), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasCreate(&ctx->blas), "cublasCreate");
    check(cublasSetStream(ctx->blas, ctx->stream), "cublasSetStream");
    // Full float precision: no TF32 tensor-core rounding of the inputs, so
    // results match the CPU backend to float accuracy.
    check(cublasSetMathMode(ctx->blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return ctx;
  } catch (const std::exception& e) {
    copy_text(error, error_size, e.what());
    destroy(ctx);
    return nullptr;
  }
}

const char* last_error(const m3oe_cuda_context* ctx) {
  return ctx ? ctx->error.c_str() : "no context";
}

void pool_stats(const m3oe_cuda_context* ctx, m3oe_cuda_pool_stats* out) {
  if (!ctx || !out) return;
  out->device_mallocs = ctx->pool.device_mallocs();
  out->reuses = ctx->pool.reuses();
  out->bytes_reserved = ctx->pool.bytes_reserved();
}

const std::string& build_info() {
  static const std::string info =
      "CUDA " + version_text(CUDART_VERSION) + ", " M3OE_CUDA_ARCH_INFO;
  return info;
}

}  // namespace

}  // namespace m3oe_cuda

extern "C" __attribute__((visibility("default"))) const m3oe_cuda_plugin* m3oe_cuda_plugin_get(
    std::uint32_t /*wanted_abi_version: the loader compares the versions itself*/) {
  using namespace m3oe_cuda;
  static const m3oe_cuda_plugin table = {
      M3OE_CUDA_ABI_VERSION,
      sizeof(m3oe_cuda_plugin),
      build_info().c_str(),
      probe,
      create,
      destroy,
      last_error,
      pool_stats,
      m3oe_cuda::gemm,
      m3oe_cuda::layernorm_forward,
      m3oe_cuda::layernorm_backward,
      m3oe_cuda::softmax_rows_forward,
      m3oe_cuda::softmax_rows_backward,
      m3oe_cuda::bias_layernorm_relu_forward,
      m3oe_cuda::bias_layernorm_relu_backward,
      m3oe_cuda::axpy,
      m3oe_cuda::add,
      m3oe_cuda::mul,
      m3oe_cuda::relu_forward,
      m3oe_cuda::relu_backward,
      m3oe_cuda::embedding_gather,
      m3oe_cuda::embedding_scatter_add,
  };
  return &table;
}
