// The CUDA loader on any machine: every way of failing gives one clear line
// and the CPU backend, and a plugin that loads (the fake host plugin, whose
// "device" runs the reference kernels) is used through CudaBackend exactly
// like the real one. The fake plugins' paths come from the environment set
// by tests/cuda/meson.build.
#include "autograd/backend/cuda_loader.hpp"
#include "kernel_suite.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

using namespace m3oe::backend;

namespace {

std::string env_path(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name << " is not set: run this test through meson test");
  return v;
}

// Each test case starts without M3OE_CUDA_PLUGIN (the user's may be set).
struct CleanEnv {
  CleanEnv() { unsetenv("M3OE_CUDA_PLUGIN"); }
  ~CleanEnv() { unsetenv("M3OE_CUDA_PLUGIN"); }
};

CudaLoadResult load(const std::string& path) {
  CudaLoadOptions options;
  options.plugin_path = path;
  return load_cuda(options);
}

}  // namespace

TEST_CASE("a missing plugin gives 'not found' and the CPU backend") {
  CleanEnv env;
  const CudaLoadResult r = load("/nonexistent/libm3oe_cuda.so");
  CHECK(r.status == CudaStatus::not_found);
  CHECK(r.message == "CUDA plugin not found at /nonexistent/libm3oe_cuda.so");
  CHECK(r.backend == nullptr);

  std::string why;
  CHECK(load_cuda_backend(&why, "/nonexistent/libm3oe_cuda.so") == nullptr);
  CHECK(why == "CUDA plugin not found at /nonexistent/libm3oe_cuda.so");

  setenv("M3OE_CUDA_PLUGIN", "/nonexistent/libm3oe_cuda.so", 1);
  std::string message;
  Backend& b = select_device("cuda", &message);
  CHECK(&b == &default_cpu());
  CHECK(message ==
        "CUDA unavailable, using the CPU backend: CUDA plugin not found at "
        "/nonexistent/libm3oe_cuda.so (from M3OE_CUDA_PLUGIN)");
  MESSAGE(message);
}

TEST_CASE("without a path the loader lists every place it looked") {
  CleanEnv env;
  const std::vector<std::string> places = cuda_plugin_candidates();
  REQUIRE(places.size() >= 2);
  CHECK(places.back() == "libm3oe_cuda.so");  // the dynamic linker's search
  for (std::size_t i = 0; i + 1 < places.size(); ++i) {
    CAPTURE(places[i]);
    CHECK(places[i].find("libm3oe_cuda.so") != std::string::npos);
    CHECK(places[i].front() == '/');
  }
  // Whatever the outcome here (the plugin may be built next to this test),
  // the loader reports it without throwing, and a failure names its cause.
  const CudaLoadResult r = load_cuda();
  MESSAGE("default search: " << std::string(to_string(r.status)) << ": " << r.message);
  CHECK(!r.message.empty());
  CHECK((r.status == CudaStatus::ok) == (r.backend != nullptr));
}

TEST_CASE("a file that is not a library is refused with dlopen's reason") {
  CleanEnv env;
  const std::string path = std::string(M3OE_SOURCE_DIR) + "/tests/cuda/meson.build";
  const CudaLoadResult r = load(path);
  CHECK(r.status == CudaStatus::load_failed);
  CHECK(r.message.rfind("CUDA plugin at " + path + " could not be loaded: ", 0) == 0);
}

TEST_CASE("a library without the entry point is refused") {
  CleanEnv env;
  const std::string path = env_path("M3OE_FAKE_NO_ENTRY");
  const CudaLoadResult r = load(path);
  CHECK(r.status == CudaStatus::no_entry_point);
  CHECK(r.message.find("has no m3oe_cuda_plugin_get") != std::string::npos);
}

TEST_CASE("a plugin of another ABI version is refused, naming both versions") {
  CleanEnv env;
  const std::string path = env_path("M3OE_FAKE_WRONG_ABI");
  const CudaLoadResult r = load(path);
  CHECK(r.status == CudaStatus::abi_mismatch);
  CHECK(r.plugin_abi_version == 999);
  CHECK(r.message == "CUDA plugin at " + path + " has ABI version 999, expected " +
                         std::to_string(M3OE_CUDA_ABI_VERSION) +
                         " (rebuild it together with this m3oe.cpp)");
  CHECK(r.backend == nullptr);

  setenv("M3OE_CUDA_PLUGIN", path.c_str(), 1);
  std::string message;
  CHECK(&select_device("cuda", &message) == &default_cpu());
  CHECK(message.find("has ABI version 999, expected") != std::string::npos);
}

TEST_CASE("a plugin whose probe finds no GPU gives 'no CUDA device' and the CPU backend") {
  CleanEnv env;
  const std::string path = env_path("M3OE_FAKE_NO_DEVICE");
  const CudaLoadResult r = load(path);
  CHECK(r.status == CudaStatus::no_device);
  CHECK(r.message == "no CUDA device: fake plugin: this machine has no GPU");
  CHECK(r.plugin_abi_version == M3OE_CUDA_ABI_VERSION);
  CHECK(r.build_info == "fake plugin (no CUDA)");

  setenv("M3OE_CUDA_PLUGIN", path.c_str(), 1);
  std::string message;
  CHECK(&select_device("cuda", &message) == &default_cpu());
  CHECK(message == "CUDA unavailable, using the CPU backend: no CUDA device: fake plugin: this "
                   "machine has no GPU");
}

TEST_CASE("device names are checked") {
  std::string message;
  CHECK(&select_device("cpu", &message) == &default_cpu());
  CHECK(message.find("CPU backend") != std::string::npos);
  CHECK_THROWS_WITH_AS(select_device("tpu", &message),
                       "unknown device 'tpu' (expected cpu, cuda or cuda:N)",
                       std::invalid_argument);
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1x"})
    CHECK_THROWS_AS(select_device(bad, &message), std::invalid_argument);
}

TEST_CASE("a loaded plugin serves as a Backend: the fake host plugin") {
  CleanEnv env;
  const std::string path = env_path("M3OE_FAKE_HOST");
  CudaLoadOptions options;
  options.plugin_path = path;
  options.device = 1;  // the fake has only device 0
  CudaLoadResult missing = load_cuda(options);
  CHECK(missing.status == CudaStatus::no_device);
  CHECK(missing.message == "no CUDA device: device 1 asked for, but only 1 present");

  CudaLoadResult r = load(path);
  REQUIRE_MESSAGE(r.status == CudaStatus::ok, r.message);
  REQUIRE(r.backend != nullptr);
  CudaBackend& b = *r.backend;
  CHECK(std::string(b.name()) == "cuda");
  CHECK(b.device().name == "fake host device");
  CHECK(b.plugin_path() == path);
  CHECK(r.message.find("fake host device") != std::string::npos);

  // The fake runs the reference kernels, so CudaBackend must reproduce them
  // exactly: any argument CudaBackend passed in the wrong place shows here.
  SUBCASE("gemm") { cuda_suite::check_gemm(b, 0.0); }
  SUBCASE("layernorm") { cuda_suite::check_layernorm(b, 0.0); }
  SUBCASE("softmax") { cuda_suite::check_softmax(b, 0.0); }
  SUBCASE("bias_layernorm_relu") { cuda_suite::check_bias_layernorm_relu(b, 0.0); }
  // axpy: the compiler may contract y + alpha * x into one FMA in one loop
  // and not in the other, so it gets one rounding of slack.
  SUBCASE("elementwise") { cuda_suite::check_elementwise(b, 1e-6); }
  SUBCASE("embedding") { cuda_suite::check_embedding(b); }
  // Against the CPU backend (its own SIMD kernels): float rounding only.
  SUBCASE("mlp") { cuda_suite::check_mlp(b, 1e-4); }
}

TEST_CASE("select_device(\"cuda\") keeps one loaded backend for the process") {
  CleanEnv env;
  setenv("M3OE_CUDA_PLUGIN", env_path("M3OE_FAKE_HOST").c_str(), 1);
  std::string first, second;
  Backend& a = select_device("cuda", &first);
  CHECK(std::string(a.name()) == "cuda");
  CHECK(first.rfind("using CUDA device 0: fake host device", 0) == 0);
  Backend& b = select_device("cuda:0", &second);
  CHECK(&a == &b);
  CHECK(second == first);
  std::string other;
  CHECK(&select_device("cuda:1", &other) == &default_cpu());
  CHECK(other.find("device 1 asked for, but only 1 present") != std::string::npos);
}
