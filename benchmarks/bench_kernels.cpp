// bench_kernels: the CPU kernels against the alternatives, at the shapes of
// the M3oE expert layers (docs/kernels.md has the numbers and how to read them).
//
//   gemm_nn/<impl>/M:../K:../N:../threads:..   C[M,N] = A[M,K] @ B[K,N], GFLOP/s
//   gemm_tn/...  C = A^T B (weight gradients),  gemm_nt/...  C = A B^T (input gradients)
//     shapes: the expert layers at 4096 and 40,960 rows, and the products of
//     one domain (1365 rows) in a training step at B = 4096
//     impl: naive (textbook loops; A @ B at M = 4096 only), eigen (Eigen 3.4
//           product), xsimd (m3oe's kernel), openblas (cblas_sgemm, when found)
//   fused_fwd/<impl>/rows:../cols:../threads:..   z = ReLU(LN(t + bias))
//   fused_bwd/<impl>/...                          its backward
//     impl: unfused_ref (bias add, reference LayerNorm, ReLU: three passes),
//           fused_ref (the teaching kernel), fused_cpu (the xsimd + OpenMP one)
//
// Every kernel is checked once against the reference kernel on the same
// inputs before it is timed; a wrong result aborts the program.
// Time is wall-clock (UseRealTime), as the kernels run on several threads.
#include "autograd/backend/backend.hpp"
#include "autograd/backend/gemm_xsimd.hpp"
#include "autograd/backend/threads.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#ifdef M3OE_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace m3oe;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

static_assert(std::is_same_v<real, float>, "the kernel benchmarks use the float build");

Matrix random_matrix(Index rows, Index cols, unsigned seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Matrix m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = dist(rng);
  return m;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_kernels: %s\n", what.c_str());
  std::abort();
}

// Runs check() the first time `key` comes by: Google Benchmark calls a
// benchmark's function several times, and the check belongs before the first.
void check_once(const std::string& key, const std::function<void()>& check) {
  static std::set<std::string> done;
  if (done.insert(key).second) check();
}

// ---------------------------------------------------------------- GEMM

// One product C[M,N] = op(A)[M,K] @ op(B)[K,N], all row-major and dense; A
// is stored [K,M] when ta (a weight gradient X^T dY), B is [N,K] when tb.
struct GemmShape {
  bool ta, tb;
  Index m, k, n;
};

using GemmFn = std::function<void(const GemmShape& s, const Matrix& a, const Matrix& b, Matrix& c,
                                  int threads)>;

// The textbook loop (i, p, j: the inner loop runs along rows of B and C so
// the compiler vectorises it), rows split over OpenMP threads. A @ B only.
void gemm_naive(const GemmShape& s, const Matrix& a, const Matrix& b, Matrix& c, int threads) {
  const Index m = s.m, k = s.k, n = s.n;
  const float* A = a.data();
  const float* B = b.data();
  float* C = c.data();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < n; ++j) C[i * n + j] = 0;
    for (Index p = 0; p < k; ++p)
      for (Index j = 0; j < n; ++j) C[i * n + j] += A[i * k + p] * B[p * n + j];
  }
}

void gemm_eigen(const GemmShape& s, const Matrix& a, const Matrix& b, Matrix& c, int threads) {
  Eigen::setNbThreads(threads);
  if (!s.ta && !s.tb) c.noalias() = a * b;
  if (s.ta && !s.tb) c.noalias() = a.transpose() * b;
  if (!s.ta && s.tb) c.noalias() = a * b.transpose();
  if (s.ta && s.tb) c.noalias() = a.transpose() * b.transpose();
}

void gemm_xsimd(const GemmShape& s, const Matrix& a, const Matrix& b, Matrix& c, int threads) {
  set_num_threads(threads);
  backend::sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), a.cols(), b.data(), b.cols(), 0.0f,
                 c.data(), c.cols());
}

#ifdef M3OE_HAVE_OPENBLAS
void gemm_openblas(const GemmShape& s, const Matrix& a, const Matrix& b, Matrix& c, int threads) {
  openblas_set_num_threads(threads);
  cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
              int(s.m), int(s.n), int(s.k), 1.0f, a.data(), int(a.cols()), b.data(),
              int(b.cols()), 0.0f, c.data(), int(c.cols()));
}
#endif

// Checks `fn` against the reference GEMM with the rigorous bound of
// tests/kernels/test_gemm.cpp: 2 (k + 2) eps (|op(A)| |op(B)|)_ij per element.
void check_gemm(const char* impl, const GemmFn& fn, const GemmShape& s, const Matrix& a,
                const Matrix& b) {
  Matrix got(s.m, s.n), want(s.m, s.n), mag(s.m, s.n);
  fn(s, a, b, got, 2);
  backend::reference().gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), a.cols(), b.data(),
                            b.cols(), 0.0f, want.data(), s.n);
  const Matrix abs_a = a.cwiseAbs(), abs_b = b.cwiseAbs();
  backend::reference().gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, abs_a.data(), a.cols(),
                            abs_b.data(), b.cols(), 0.0f, mag.data(), s.n);
  const double eps = 1.1920929e-7;
  for (Index i = 0; i < s.m * s.n; ++i) {
    const double tol = 2.0 * double(s.k + 2) * eps * mag.data()[i];
    if (!(std::abs(double(got.data()[i]) - want.data()[i]) <= tol))
      fail(std::string("gemm ") + impl + " is wrong at M=" + std::to_string(s.m) +
           " K=" + std::to_string(s.k) + " N=" + std::to_string(s.n) + ", element " +
           std::to_string(i) + ": " + std::to_string(got.data()[i]) + " vs reference " +
           std::to_string(want.data()[i]));
  }
}

void register_gemm(const char* impl, GemmFn fn, bool naive) {
  const GemmShape shapes[] = {
      // Forward products, M x K x N: an expert layer (4096-row batch,
      // 256 -> 64), the 9 experts of ML-1M side by side (N = 64 * 9), the
      // STAR layer (113 -> 512), the 512 -> 256 layer; then the same at the
      // official batch of 40,960 rows.
      {false, false, 4096, 256, 64},
      {false, false, 4096, 256, 576},
      {false, false, 4096, 113, 512},
      {false, false, 4096, 512, 256},
      {false, false, 40960, 256, 64},
      {false, false, 40960, 256, 576},
      {false, false, 40960, 113, 512},
      {false, false, 40960, 512, 256},
      // The expert layer's backward: dW = X^T dT (tn) and dX = dT W^T (nt).
      {true, false, 256, 4096, 64},
      {false, true, 4096, 64, 256},
      {true, false, 256, 40960, 64},
      {false, true, 40960, 64, 256},
      // Skinny C: a gate (256 -> 4 experts) and its dW, a tower head (64 -> 1).
      {false, false, 40960, 256, 4},
      {true, false, 256, 40960, 4},
      {false, false, 40960, 64, 1},
      // What a training step at B = 4096 actually runs: one domain's share,
      // 1365 rows (of 3 domains), for the STAR layer (113 -> 512), the
      // 512 -> 256 layer and the 9 experts side by side; forward, input
      // gradient dX = dT W^T (nt) and weight gradient dW = X^T dT (tn).
      {false, false, 1365, 113, 512},
      {false, true, 1365, 512, 113},
      {true, false, 113, 1365, 512},
      {false, false, 1365, 512, 256},
      {true, false, 512, 1365, 256},
      {false, false, 1365, 256, 576},
      {false, true, 1365, 576, 256},
      {true, false, 256, 1365, 576},
  };
  for (const GemmShape& s : shapes) {
    if (naive && (s.ta || s.tb || s.m > 4096 || s.n < 64)) continue;
    const std::string name =
        std::string("gemm_") + (s.ta ? "t" : "n") + (s.tb ? "t" : "n") + "/" + impl;
    for (int threads : {1, 2}) {
      benchmark::RegisterBenchmark(
          name.c_str(),
          [=](benchmark::State& state) {
            const Matrix a = s.ta ? random_matrix(s.k, s.m, 1) : random_matrix(s.m, s.k, 1);
            const Matrix b = s.tb ? random_matrix(s.n, s.k, 2) : random_matrix(s.k, s.n, 2);
            check_once(name + std::to_string(s.m) + "x" + std::to_string(s.k) + "x" +
                           std::to_string(s.n),
                       [&] { check_gemm(impl, fn, s, a, b); });
            Matrix c(s.m, s.n);
            for (auto _ : state) {
              fn(s, a, b, c, threads);
              benchmark::DoNotOptimize(c.data());
              benchmark::ClobberMemory();
            }
            state.counters["GFLOP/s"] =
                benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k) / 1e9,
                                   benchmark::Counter::kIsIterationInvariantRate);
          })
          ->Args({s.m, s.k, s.n, threads})
          ->ArgNames({"M", "K", "N", "threads"})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

// ---------------------------------------------------------------- fused layer tail

// The inputs and outputs of z = ReLU(LN(t + bias)) and its backward.
struct Fused {
  Index rows, cols;
  Matrix t, bias, gamma, beta, z, xhat, rstd, dz, dt, dbias, dgamma, dbeta;
  Matrix u, mean, dy;  // the unfused path's intermediates
  Fused(Index r, Index c)
      : rows(r), cols(c), t(random_matrix(r, c, 3, -2, 3)), bias(random_matrix(1, c, 4)),
        gamma(random_matrix(1, c, 5, 0.5, 1.5)), beta(random_matrix(1, c, 6, -0.3, 0.3)),
        z(r, c), xhat(r, c), rstd(r, 1), dz(random_matrix(r, c, 7)), dt(r, c),
        dbias(Matrix::Zero(1, c)), dgamma(Matrix::Zero(1, c)), dbeta(Matrix::Zero(1, c)), u(r, c),
        mean(r, 1), dy(r, c) {}
};

using FusedFn = std::function<void(Fused&)>;

// Unfused, with the reference kernels: bias add, LayerNorm, ReLU as three
// passes over [rows, cols], as an op-by-op graph would run them.
void fwd_unfused_ref(Fused& f) {
  f.u = f.t.rowwise() + f.bias.row(0);
  backend::reference().layernorm_forward(f.u.data(), f.gamma.data(), f.beta.data(), f.rows,
                                         f.cols, 1e-5f, f.z.data(), f.mean.data(), f.rstd.data());
  f.z = f.z.cwiseMax(0.0f);
}
void bwd_unfused_ref(Fused& f) {
  f.dy = (f.z.array() > 0.0f).select(f.dz, 0.0f);  // ReLU gate
  f.dt.setZero();                                    // the LayerNorm backward accumulates
  backend::reference().layernorm_backward(f.dy.data(), f.u.data(), f.gamma.data(), f.mean.data(),
                                          f.rstd.data(), f.rows, f.cols, f.dt.data(),
                                          f.dgamma.data(), f.dbeta.data());
  f.dbias.row(0) += f.dt.colwise().sum();
}

FusedFn fused_fwd(backend::Backend& be) {
  return [&be](Fused& f) {
    be.bias_layernorm_relu_forward(f.t.data(), f.bias.data(), f.gamma.data(), f.beta.data(),
                                   f.rows, f.cols, 1e-5f, f.z.data(), f.xhat.data(),
                                   f.rstd.data());
  };
}
FusedFn fused_bwd(backend::Backend& be) {
  return [&be](Fused& f) {
    be.bias_layernorm_relu_backward(f.dz.data(), f.z.data(), f.xhat.data(), f.rstd.data(),
                                    f.gamma.data(), f.rows, f.cols, f.dt.data(), f.dbias.data(),
                                    f.dgamma.data(), f.dbeta.data());
  };
}

// Checks an implementation of the fused forward + backward against the
// fused reference (tolerances of tests/kernels/test_rowwise.cpp).
void check_fused(const char* impl, const FusedFn& fwd, const FusedFn& bwd, Index rows,
                 Index cols) {
  Fused got(rows, cols), want(rows, cols);
  fwd(got);
  bwd(got);
  fused_fwd(backend::reference())(want);
  fused_bwd(backend::reference())(want);
  auto check = [&](const Matrix& g, const Matrix& w, double rel, const char* name) {
    const double tol = rel * std::max(1.0, double(w.cwiseAbs().maxCoeff()));
    if (!((g - w).cwiseAbs().maxCoeff() <= tol))
      fail(std::string(impl) + ": " + name + " differs from the fused reference by " +
           std::to_string((g - w).cwiseAbs().maxCoeff()));
  };
  const double eps = 1.1920929e-7;
  check(got.z, want.z, 32 * eps, "z");
  check(got.rstd, want.rstd, 32 * eps, "rstd");
  check(got.dt, want.dt, 256 * eps, "dt");
  check(got.dbias, want.dbias, 16 * 4 * eps * rows, "dbias");
  check(got.dgamma, want.dgamma, 4 * eps * rows, "dgamma");
  check(got.dbeta, want.dbeta, 4 * eps * rows, "dbeta");
}

void register_fused(const char* impl, FusedFn fwd, FusedFn bwd) {
  const Index shapes[][2] = {{4096, 64}, {4096, 256}, {40960, 64}, {40960, 256}};
  for (const char* dir : {"fused_fwd/", "fused_bwd/"}) {
    const bool backward = dir[6] == 'b';
    for (const auto& s : shapes)
      for (int threads : {1, 2}) {
        const Index rows = s[0], cols = s[1];
        benchmark::RegisterBenchmark((std::string(dir) + impl).c_str(),
                                     [=](benchmark::State& state) {
                                       set_num_threads(threads);
                                       check_once(std::string("fused/") + impl +
                                                      std::to_string(rows) + "x" +
                                                      std::to_string(cols),
                                                  [&] { check_fused(impl, fwd, bwd, rows, cols); });
                                       Fused f(rows, cols);
                                       fwd(f);
                                       for (auto _ : state) {
                                         if (backward) bwd(f);
                                         else fwd(f);
                                         benchmark::ClobberMemory();
                                       }
                                       state.counters["rows/s"] = benchmark::Counter(
                                           double(rows),
                                           benchmark::Counter::kIsIterationInvariantRate);
                                       set_num_threads(0);
                                     })
            ->Args({rows, cols, threads})
            ->ArgNames({"rows", "cols", "threads"})
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const backend::SgemmBlocking blk = backend::sgemm_blocking();
  benchmark::AddCustomContext("m3oe_sgemm", std::string(blk.arch) + ", micro-tile " +
                                                 std::to_string(blk.mr) + "x" +
                                                 std::to_string(blk.nr) + ", kc " +
                                                 std::to_string(blk.kc));
  register_gemm("naive", gemm_naive, true);
  register_gemm("eigen", gemm_eigen, false);
  register_gemm("xsimd", gemm_xsimd, false);
#ifdef M3OE_HAVE_OPENBLAS
  register_gemm("openblas", gemm_openblas, false);
  // Which of OpenBLAS's kernel sets runs: OPENBLAS_CORETYPE, where a machine
  // sets it, overrides OpenBLAS's own choice for this CPU (docs/performance.md).
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
  register_fused("unfused_ref", fwd_unfused_ref, bwd_unfused_ref);
  register_fused("fused_ref", fused_fwd(backend::reference()), fused_bwd(backend::reference()));
  register_fused("fused_cpu", fused_fwd(backend::default_cpu()), fused_bwd(backend::default_cpu()));

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
