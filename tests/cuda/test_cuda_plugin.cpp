// The real CUDA plugin (built only when nvcc was found). Its own main():
//   1. loads the plugin named by M3OE_CUDA_PLUGIN (set by meson test) and
//      checks its ABI version and that its probe ran;
//   2. without a usable GPU, prints the probe's reason and exits 77, which
//      meson reports as SKIP;
//   3. with a GPU, runs every kernel against the reference kernels at
//      several shapes, the memory cache, and a small MLP through the ops.
// Tolerances (relative, see kernel_suite.hpp): 1e-4 for every kernel
// (cuBLAS and the warp reductions add in another order than the CPU;
// TF32 is off), exact for the gathers, scatters and elementwise add/mul/relu.
#define DOCTEST_CONFIG_IMPLEMENT
#include "autograd/backend/cuda_loader.hpp"
#include "kernel_suite.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

using namespace m3oe::backend;

namespace {
CudaBackend* g_gpu = nullptr;
constexpr double kTol = 1e-4;
}  // namespace

TEST_CASE("gemm (cuBLAS) matches the reference") { cuda_suite::check_gemm(*g_gpu, kTol); }
TEST_CASE("layernorm forward/backward match the reference") {
  cuda_suite::check_layernorm(*g_gpu, kTol);
}
TEST_CASE("softmax rows forward/backward match the reference") {
  cuda_suite::check_softmax(*g_gpu, kTol);
}
TEST_CASE("fused bias + layernorm + relu forward/backward match the reference") {
  cuda_suite::check_bias_layernorm_relu(*g_gpu, kTol);
}
TEST_CASE("elementwise kernels match plain loops") {
  cuda_suite::check_elementwise(*g_gpu, 1e-6);
}
TEST_CASE("embedding gather and scatter-add are exact and refuse bad ids") {
  cuda_suite::check_embedding(*g_gpu);
}
TEST_CASE("an MLP forward/backward on the GPU matches the CPU backend") {
  cuda_suite::check_mlp(*g_gpu, kTol);
}
TEST_CASE("the device memory cache serves a repeated step without cudaMalloc") {
  const cuda_suite::Shape s{256, 128, 64};
  const auto a = cuda_suite::random(s.m, s.k, 1), b = cuda_suite::random(s.k, s.n, 2);
  m3oe::Tensor c(s.m, s.n);
  auto step = [&] {
    g_gpu->gemm(false, false, s.m, s.n, s.k, 1.f, a.data(), s.k, b.data(), s.n, 0.f, c.data(),
                s.n);
    std::vector<float> mean(s.m), rstd(s.m);
    const auto gamma = cuda_suite::random(1, s.n, 3), beta = cuda_suite::random(1, s.n, 4);
    g_gpu->layernorm_forward(c.data(), gamma.data(), beta.data(), s.m, s.n, 1e-5f, c.data(),
                             mean.data(), rstd.data());
  };
  step();
  const m3oe_cuda_pool_stats warm = g_gpu->pool_stats();
  for (int i = 0; i < 3; ++i) step();
  const m3oe_cuda_pool_stats after = g_gpu->pool_stats();
  CHECK(warm.device_mallocs > 0);
  CHECK(after.device_mallocs == warm.device_mallocs);
  CHECK(after.reuses > warm.reuses);
  CHECK(after.bytes_reserved == warm.bytes_reserved);
}
TEST_CASE("a failing kernel throws with the CUDA reason instead of crashing") {
  // ldc < n is refused by the plugin before any GPU work.
  float a = 1, b = 1, c = 0;
  CHECK_THROWS_WITH_AS(g_gpu->gemm(false, false, 1, 2, 1, 1.f, &a, 1, &b, 2, 0.f, &c, 1),
                       doctest::Contains("CUDA backend, gemm failed: gemm: ldc < n"),
                       std::runtime_error);
}

int main(int argc, char** argv) {
  const char* path = std::getenv("M3OE_CUDA_PLUGIN");
  if (!path || !*path) {
    std::fprintf(stderr, "M3OE_CUDA_PLUGIN is not set: run this test through meson test\n");
    return 1;
  }
  CudaLoadResult r = load_cuda();  // reads M3OE_CUDA_PLUGIN
  std::printf("CUDA plugin: %s: %s\n", to_string(r.status), r.message.c_str());
  if (r.status == CudaStatus::no_device) {
    // The plugin loaded, its ABI matched and its probe ran: all that can be
    // checked without a GPU.
    const bool abi_ok = r.plugin_abi_version == M3OE_CUDA_ABI_VERSION;
    const bool probe_ran = r.device.runtime_version > 0 && !r.device.summary.empty();
    std::printf("plugin %s, ABI version %u (%s), probe %s\n", r.build_info.c_str(),
                r.plugin_abi_version, abi_ok ? "matches" : "MISMATCH",
                probe_ran ? "ran" : "DID NOT RUN");
    if (!abi_ok || !probe_ran) return 1;
    std::printf("SKIP: the GPU tests need a CUDA device (%s)\n", r.device.summary.c_str());
    return 77;
  }
  if (r.status != CudaStatus::ok) return 1;  // built but unusable: a real failure
  g_gpu = r.backend.get();
  doctest::Context context(argc, argv);
  const int failed = context.run();
  r.backend.reset();
  return failed;
}
