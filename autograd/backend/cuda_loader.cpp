// cuda_loader.cpp: dlopen the CUDA plugin, check it, wrap it in a Backend.
// Every way this can fail ends in a CudaLoadResult with a one-line message;
// nothing here throws or aborts because CUDA is missing.
#include "autograd/backend/cuda_loader.hpp"

#include <dlfcn.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

namespace m3oe::backend {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPluginFile = "libm3oe_cuda.so";

std::string dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown dlopen error";
}

CudaLoadResult failure(CudaLoadResult r, CudaStatus status, std::string message) {
  r.status = status;
  r.message = std::move(message);
  return r;
}

// The file a handle came from (for a plugin found by the dynamic linker).
std::string loaded_file(void* symbol, const std::string& fallback) {
  Dl_info info{};
  if (dladdr(symbol, &info) && info.dli_fname) return info.dli_fname;
  return fallback;
}

}  // namespace

const char* to_string(CudaStatus status) {
  switch (status) {
    case CudaStatus::ok: return "ok";
    case CudaStatus::not_found: return "not_found";
    case CudaStatus::load_failed: return "load_failed";
    case CudaStatus::no_entry_point: return "no_entry_point";
    case CudaStatus::abi_mismatch: return "abi_mismatch";
    case CudaStatus::no_device: return "no_device";
    case CudaStatus::context_failed: return "context_failed";
    case CudaStatus::double_build: return "double_build";
  }
  return "unknown";
}

std::vector<std::string> cuda_plugin_candidates() {
  std::vector<std::string> places;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    // An installed program keeps the plugin beside it or in ../lib; a program
    // in the build tree (build/, build/examples/, build/tests/cuda/) finds
    // it in the build's autograd/backend/cuda/.
    for (const fs::path& p : {dir / kPluginFile, dir / ".." / "lib" / kPluginFile,
                              dir / "autograd/backend/cuda" / kPluginFile,
                              dir / "../autograd/backend/cuda" / kPluginFile,
                              dir / "../../autograd/backend/cuda" / kPluginFile})
      places.push_back(p.lexically_normal().string());
  }
  places.push_back(kPluginFile);  // LD_LIBRARY_PATH, the ld.so cache, ...
  return places;
}

CudaLoadResult load_cuda(const CudaLoadOptions& options) {
  CudaLoadResult r;

  // 1. Find the file and dlopen it. The plugin is never dlclose'd: the CUDA
  // runtime it pulls in is not meant to be unloaded while the process runs.
  std::string path = options.plugin_path, origin;
  if (path.empty())
    if (const char* env = std::getenv("M3OE_CUDA_PLUGIN"); env && *env) {
      path = env;
      origin = " (from M3OE_CUDA_PLUGIN)";
    }
  void* handle = nullptr;
  if (!path.empty()) {
    std::error_code ec;
    if (!fs::exists(path, ec))
      return failure(std::move(r), CudaStatus::not_found,
                     "CUDA plugin not found at " + path + origin);
    if (!(handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)))
      return failure(std::move(r), CudaStatus::load_failed,
                     "CUDA plugin at " + path + " could not be loaded: " + dl_error());
  } else {
    std::string tried;
    for (const std::string& place : cuda_plugin_candidates()) {
      std::error_code ec;
      const bool bare = place == kPluginFile;
      if (!bare && !fs::exists(place, ec)) {
        tried += (tried.empty() ? "" : ", ") + place;
        continue;
      }
      if ((handle = dlopen(place.c_str(), RTLD_NOW | RTLD_LOCAL))) {
        path = place;
        break;
      }
      const std::string why = dl_error();
      // The bare name that the dynamic linker cannot find at all is "not
      // found"; any other failure (a dependency missing) is reported as is.
      if (bare && why.rfind(std::string(kPluginFile) + ":", 0) == 0) {
        tried += std::string(tried.empty() ? "" : ", ") + "the library search path";
        break;
      }
      r.plugin_path = place;
      return failure(std::move(r), CudaStatus::load_failed,
                     "CUDA plugin at " + place + " could not be loaded: " + why);
    }
    if (!handle)
      return failure(std::move(r), CudaStatus::not_found,
                     "CUDA plugin not found at " + tried +
                         " (it is built only when nvcc is found; M3OE_CUDA_PLUGIN=path "
                         "points to it)");
  }
  r.plugin_path = path;

  // 2. The entry point and the ABI version.
  dlerror();
  void* symbol = dlsym(handle, M3OE_CUDA_ENTRY_POINT);
  if (!symbol)
    return failure(std::move(r), CudaStatus::no_entry_point,
                   "CUDA plugin at " + path + " has no " M3OE_CUDA_ENTRY_POINT ": " + dl_error());
  r.plugin_path = path = loaded_file(symbol, path);
  const auto get = reinterpret_cast<m3oe_cuda_plugin_get_fn>(symbol);
  const m3oe_cuda_plugin* api = get(M3OE_CUDA_ABI_VERSION);
  if (!api)
    return failure(std::move(r), CudaStatus::no_entry_point,
                   "CUDA plugin at " + path + ": " M3OE_CUDA_ENTRY_POINT " returned no table");
  r.plugin_abi_version = api->abi_version;
  if (api->abi_version != M3OE_CUDA_ABI_VERSION)
    return failure(std::move(r), CudaStatus::abi_mismatch,
                   "CUDA plugin at " + path + " has ABI version " +
                       std::to_string(api->abi_version) + ", expected " +
                       std::to_string(M3OE_CUDA_ABI_VERSION) +
                       " (rebuild it together with this m3oe.cpp)");
  if (api->struct_size != sizeof(m3oe_cuda_plugin))
    return failure(std::move(r), CudaStatus::abi_mismatch,
                   "CUDA plugin at " + path + " has ABI version " +
                       std::to_string(api->abi_version) + " but a table of " +
                       std::to_string(api->struct_size) + " bytes, expected " +
                       std::to_string(sizeof(m3oe_cuda_plugin)));
  r.build_info = api->build_info ? api->build_info : "";

#if defined(M3OE_DOUBLE) && M3OE_DOUBLE
  return failure(std::move(r), CudaStatus::double_build,
                 "the CUDA plugin computes in float and this is the double-precision "
                 "(M3OE_DOUBLE) build of m3oe.cpp");
#else
  // 3. Is there a device that can run the kernels?
  m3oe_cuda_probe_result probe{};
  api->probe(options.device, &probe);
  probe.name[sizeof probe.name - 1] = '\0';
  probe.message[sizeof probe.message - 1] = '\0';
  r.device.index = options.device;
  r.device.count = probe.device_count;
  r.device.name = probe.name;
  r.device.cc_major = probe.cc_major;
  r.device.cc_minor = probe.cc_minor;
  r.device.total_memory = probe.total_memory;
  r.device.runtime_version = probe.runtime_version;
  r.device.driver_version = probe.driver_version;
  r.device.summary = probe.message;
  if (!probe.usable)
    return failure(std::move(r), CudaStatus::no_device, "no CUDA device: " + r.device.summary);

  // 4. A context (stream, cuBLAS handle, memory cache) on that device.
  char error[512] = "";
  m3oe_cuda_context* ctx = api->create(options.device, error, sizeof error);
  error[sizeof error - 1] = '\0';
  if (!ctx)
    return failure(std::move(r), CudaStatus::context_failed,
                   "CUDA context on device " + std::to_string(options.device) + " (" +
                       r.device.name + ") failed: " + error);
  r.backend.reset(new CudaBackend(api, ctx, r.device, path));
  r.status = CudaStatus::ok;
  r.message = "CUDA device " + std::to_string(options.device) + ": " + r.device.summary +
              "; plugin " + path + " (" + r.build_info + ")";
  return r;
#endif
}

std::unique_ptr<Backend> load_cuda_backend(std::string* why_not, const std::string& plugin_path) {
  CudaLoadOptions options;
  options.plugin_path = plugin_path;
  CudaLoadResult r = load_cuda(options);
  if (why_not) *why_not = r.status == CudaStatus::ok ? std::string() : r.message;
  return std::move(r.backend);
}

Backend& select_device(const std::string& device, std::string* message) {
  auto say = [message](std::string text) {
    if (message) *message = std::move(text);
  };
  if (device == "cpu") {
    say(std::string("using the CPU backend (") + default_cpu().name() + ")");
    return default_cpu();
  }
  int index = 0;
  if (device.rfind("cuda:", 0) == 0) {
    const char* first = device.data() + 5;
    const char* last = device.data() + device.size();
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec != std::errc() || end != last || first == last || index < 0)
      throw std::invalid_argument("device '" + device + "': expected cuda:N with N >= 0");
  } else if (device != "cuda") {
    throw std::invalid_argument("unknown device '" + device + "' (expected cpu, cuda or cuda:N)");
  }
  // One backend per device for the whole process, deliberately never freed:
  // releasing CUDA resources while the runtime shuts down at exit is unsafe.
  // The registry itself is never destroyed either, so that leak checkers
  // still see the backends as reachable at exit.
  struct Loaded {
    std::unique_ptr<CudaBackend> backend;
    std::string message;
  };
  static std::mutex mutex;
  static auto& loaded = *new std::map<int, Loaded>;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(index); it != loaded.end()) {
    say("using " + it->second.message);
    return *it->second.backend;
  }
  CudaLoadOptions options;
  options.device = index;
  CudaLoadResult r = load_cuda(options);
  if (r.status != CudaStatus::ok) {
    say("CUDA unavailable, using the CPU backend: " + r.message);
    return default_cpu();
  }
  say("using " + r.message);
  Loaded& entry = loaded[index];
  entry.message = std::move(r.message);
  entry.backend = std::move(r.backend);
  return *entry.backend;
}

// ---- CudaBackend ----------------------------------------------------------

CudaBackend::CudaBackend(const m3oe_cuda_plugin* api, m3oe_cuda_context* ctx,
                         CudaDeviceInfo device, std::string plugin_path)
    : api_(api),
      ctx_(ctx),
      device_(std::move(device)),
      plugin_path_(std::move(plugin_path)),
      build_info_(api->build_info ? api->build_info : "") {}

CudaBackend::~CudaBackend() { api_->destroy(ctx_); }

void CudaBackend::check(int rc, const char* kernel) const {
  if (rc != 0) {
    const char* why = api_->last_error(ctx_);
    throw std::runtime_error(std::string("CUDA backend, ") + kernel + " failed: " +
                             (why && *why ? why : "no reason given"));
  }
}

m3oe_cuda_pool_stats CudaBackend::pool_stats() const {
  m3oe_cuda_pool_stats stats{};
  api_->pool_stats(ctx_, &stats);
  return stats;
}

#if defined(M3OE_DOUBLE) && M3OE_DOUBLE
// The double build never creates a CudaBackend (load_cuda refuses: the
// plugin computes in float), but the class must compile: these overrides
// keep the reference kernels.
void CudaBackend::gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, real alpha,
                       const real* a, Index lda, const real* b, Index ldb, real beta, real* c,
                       Index ldc) {
  Backend::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void CudaBackend::layernorm_forward(const real* x, const real* gamma, const real* beta,
                                    Index rows, Index cols, real eps, real* out, real* mean,
                                    real* rstd) {
  Backend::layernorm_forward(x, gamma, beta, rows, cols, eps, out, mean, rstd);
}
void CudaBackend::layernorm_backward(const real* dout, const real* x, const real* gamma,
                                     const real* mean, const real* rstd, Index rows, Index cols,
                                     real* dx, real* dgamma, real* dbeta) {
  Backend::layernorm_backward(dout, x, gamma, mean, rstd, rows, cols, dx, dgamma, dbeta);
}
void CudaBackend::softmax_rows_forward(const real* x, Index rows, Index cols, real* out) {
  Backend::softmax_rows_forward(x, rows, cols, out);
}
void CudaBackend::softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols,
                                        real* dx) {
  Backend::softmax_rows_backward(y, dy, rows, cols, dx);
}
void CudaBackend::bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                              const real* beta, Index rows, Index cols, real eps,
                                              real* z, real* xhat, real* rstd) {
  Backend::bias_layernorm_relu_forward(t, bias, gamma, beta, rows, cols, eps, z, xhat, rstd);
}
void CudaBackend::bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                               const real* rstd, const real* gamma, Index rows,
                                               Index cols, real* dt, real* dbias, real* dgamma,
                                               real* dbeta) {
  Backend::bias_layernorm_relu_backward(dz, z, xhat, rstd, gamma, rows, cols, dt, dbias, dgamma,
                                        dbeta);
}
#else
void CudaBackend::gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, real alpha,
                       const real* a, Index lda, const real* b, Index ldb, real beta, real* c,
                       Index ldc) {
  check(api_->gemm(ctx_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "gemm");
}
void CudaBackend::layernorm_forward(const real* x, const real* gamma, const real* beta,
                                    Index rows, Index cols, real eps, real* out, real* mean,
                                    real* rstd) {
  check(api_->layernorm_forward(ctx_, x, gamma, beta, rows, cols, eps, out, mean, rstd),
        "layernorm_forward");
}
void CudaBackend::layernorm_backward(const real* dout, const real* x, const real* gamma,
                                     const real* mean, const real* rstd, Index rows, Index cols,
                                     real* dx, real* dgamma, real* dbeta) {
  check(api_->layernorm_backward(ctx_, dout, x, gamma, mean, rstd, rows, cols, dx, dgamma, dbeta),
        "layernorm_backward");
}
void CudaBackend::softmax_rows_forward(const real* x, Index rows, Index cols, real* out) {
  check(api_->softmax_rows_forward(ctx_, x, rows, cols, out), "softmax_rows_forward");
}
void CudaBackend::softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols,
                                        real* dx) {
  check(api_->softmax_rows_backward(ctx_, y, dy, rows, cols, dx), "softmax_rows_backward");
}
void CudaBackend::bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                              const real* beta, Index rows, Index cols, real eps,
                                              real* z, real* xhat, real* rstd) {
  check(api_->bias_layernorm_relu_forward(ctx_, t, bias, gamma, beta, rows, cols, eps, z, xhat,
                                          rstd),
        "bias_layernorm_relu_forward");
}
void CudaBackend::bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                               const real* rstd, const real* gamma, Index rows,
                                               Index cols, real* dt, real* dbias, real* dgamma,
                                               real* dbeta) {
  check(api_->bias_layernorm_relu_backward(ctx_, dz, z, xhat, rstd, gamma, rows, cols, dt, dbias,
                                           dgamma, dbeta),
        "bias_layernorm_relu_backward");
}
#endif

void CudaBackend::axpy(Index n, float alpha, const float* x, float* y) {
  check(api_->axpy(ctx_, n, alpha, x, y), "axpy");
}
void CudaBackend::add(Index n, const float* a, const float* b, float* out) {
  check(api_->add(ctx_, n, a, b, out), "add");
}
void CudaBackend::mul(Index n, const float* a, const float* b, float* out) {
  check(api_->mul(ctx_, n, a, b, out), "mul");
}
void CudaBackend::relu_forward(Index n, const float* x, float* out) {
  check(api_->relu_forward(ctx_, n, x, out), "relu_forward");
}
void CudaBackend::relu_backward(Index n, const float* y, const float* dy, float* dx) {
  check(api_->relu_backward(ctx_, n, y, dy, dx), "relu_backward");
}
void CudaBackend::embedding_gather(const float* table, Index vocab, Index dim,
                                   const std::int32_t* ids, Index count, float* out) {
  check(api_->embedding_gather(ctx_, table, vocab, dim, ids, count, out), "embedding_gather");
}
void CudaBackend::embedding_scatter_add(const float* dout, const std::int32_t* ids, Index count,
                                        Index dim, float* table_grad, Index vocab) {
  check(api_->embedding_scatter_add(ctx_, dout, ids, count, dim, table_grad, vocab),
        "embedding_scatter_add");
}

}  // namespace m3oe::backend
