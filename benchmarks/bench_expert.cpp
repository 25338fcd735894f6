// bench_expert: time one layer of M3oE experts at any shape, without writing
// code (docs/performance.md, "Micro-benchmark an expert layer").
//
//   bench_expert [--batch B] [--in K] [--out N] [--experts G] [--threads T]
//                [--pass forward|backward|both] [--min-time S] [--repeat R] [--seed S]
//                [--peak-gflops P]
//
// The layer: G experts on the same input x[B,K], expert g computing
// z_g = ReLU(LayerNorm(x @ W_g + b_g)) with W_g [K,N], as M3oE's experts do.
// It is run five ways:
//   fused          one linear_ln_relu op over W = [W_1 | ... | W_G] ([K,G*N]) with
//                  G LayerNorm groups: what M3oE runs (M3oE::experts_forward)
//   modular        G nn::Sequential(nn::Linear, nn::LayerNorm, nn::ReLU) and a
//                  concat_cols of their outputs: the same layer op by op
//   gemm_m3oe      the layer's products alone through the library's Backend:
//                  forward T = X W ([B,K] x [K,G*N]); backward dX = dT W^T and
//                  dW = X^T dT, side by side (Backend::gemm_pair, as the op runs them)
//   gemm_eigen     the same products with Eigen's
//   gemm_openblas  the same with cblas_sgemm (when built with OpenBLAS)
// The forward of fused and modular records the graph, as in training; their
// backward is Var::backward from a random dz [B,G*N] after an untimed
// zero_grad and forward.
//
// Before anything is timed, every way is checked against a double-precision
// reference (the textbook loops below) on the same weights and input: the
// forward output and, when the backward is timed, dx and dW. Over the
// tolerance the program says which differs and exits 1 without timing.
//
// Timing: per case two warm-up calls, then --repeat batches of calls filling
// --min-time seconds in all; each call is timed alone (steady_clock) and the
// table shows the median batch's ms per call. GFLOP/s counts the products
// only: 2*B*K*N*G FLOPs forward, twice that backward (dX and dW; the bias,
// LayerNorm and ReLU are left out). % of peak divides by the FMA peak
// measured at start on the same number of threads (fma_peak.hpp, timed by
// each thread's CPU time), or the one given by --peak-gflops. Threads: --threads, else OMP_NUM_THREADS, else all
// cores; Eigen and OpenBLAS get the same number.
#include "autograd/backend/allocator.hpp"
#include "autograd/backend/backend.hpp"
#include "autograd/backend/threads.hpp"
#include "autograd/ops.hpp"
#include "autograd/rng.hpp"
#include "benchmarks/fma_peak.hpp"
#include "layers/containers.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"

#include <Eigen/Core>

#ifdef M3OE_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace m3oe;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

static_assert(std::is_same_v<real, float>, "bench_expert uses the float build");

// ---------------------------------------------------------------- options

struct Options {
  Index batch = 1024, in = 256, out = 64, experts = 8;
  int threads = 0;  // 0: OMP_NUM_THREADS, else all cores (num_threads())
  bool forward = true, backward = true;
  double min_time = 0.5;  // seconds of timed calls per case, all batches together
  int repeat = 5;         // timed batches per case; the median is shown
  std::uint64_t seed = 1;
  double peak_gflops = 0;  // 0: measure the FMA peak at start
};

const char* kUsage =
    "usage: bench_expert [--batch B] [--in K] [--out N] [--experts G] [--threads T]\n"
    "                    [--pass forward|backward|both] [--min-time S] [--repeat R] [--seed S]\n"
    "                    [--peak-gflops P]\n"
    "Times G experts ReLU(LayerNorm(Linear K->N)) on a batch of B rows: the fused op, the\n"
    "modular layers and the raw products, after checking them against a double reference.\n"
    "  --batch B      rows (default 1024)          --in K       input width (256)\n"
    "  --out N        width of one expert (64)     --experts G  experts side by side (8)\n"
    "  --threads T    threads (default OMP_NUM_THREADS, else all cores)\n"
    "  --pass P       forward, backward or both (both)\n"
    "  --min-time S   seconds of timed calls per case (0.5)\n"
    "  --repeat R     timed batches per case, median shown (5)\n"
    "  --seed S       seed of the weights and data (1)\n"
    "  --peak-gflops P  the FMA peak of T threads in GFLOP/s, instead of measuring it\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "bench_expert: %s\n(--help lists the flags)\n", what.c_str());
  std::exit(2);
}

// The whole of `text` as a number in [lo, hi], or a usage error naming the flag.
template <class T>
T parse_number(const std::string& flag, const std::string& text, T lo, T hi) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty())
    usage_error(flag + " needs a number, got '" + text + "'");
  auto show = [](T v) {  // the shortest text that reads back as v
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  };
  if (!(value >= lo && value <= hi))
    usage_error(flag + " must be in [" + show(lo) + ", " + show(hi) + "], got " + text);
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string flag = arg, value;
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    const auto eq = flag.find('=');  // --flag=value or --flag value
    if (eq != std::string::npos) flag.resize(eq);
    const std::string known =
        " --batch --in --out --experts --threads --pass --min-time --repeat --seed --peak-gflops ";
    if (known.find(" " + flag + " ") == std::string::npos)
      usage_error("unknown flag '" + arg + "'");
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      value = argv[++i];
    }
    if (flag == "--batch") o.batch = parse_number<Index>(flag, value, 1, 10'000'000);
    else if (flag == "--in") o.in = parse_number<Index>(flag, value, 1, 1'000'000);
    else if (flag == "--out") o.out = parse_number<Index>(flag, value, 1, 1'000'000);
    else if (flag == "--experts") o.experts = parse_number<Index>(flag, value, 1, 1024);
    else if (flag == "--threads") o.threads = parse_number<int>(flag, value, 1, 1024);
    else if (flag == "--min-time") o.min_time = parse_number<double>(flag, value, 1e-6, 3600);
    else if (flag == "--repeat") o.repeat = parse_number<int>(flag, value, 1, 1000);
    else if (flag == "--seed") o.seed = parse_number<std::uint64_t>(flag, value, 0, UINT64_MAX);
    else if (flag == "--peak-gflops") o.peak_gflops = parse_number<double>(flag, value, 1e-3, 1e9);
    else {  // --pass
      if (value != "forward" && value != "backward" && value != "both")
        usage_error("--pass must be forward, backward or both, got '" + value + "'");
      o.forward = value != "backward";
      o.backward = value != "forward";
    }
  }
  // Every matrix must fit cblas's int sizes (and a sane amount of memory).
  const double widest = double(std::max(o.in, o.experts * o.out));
  const double weights = double(o.in) * double(o.experts * o.out);
  if (double(o.batch) * widest > 2147483647.0 || weights > 2147483647.0)
    usage_error("the shape is too large: a matrix of more than 2^31 - 1 values");
  return o;
}

// ---------------------------------------------------------------- the layer

Tensor random_tensor(Rng& rng, Index rows, Index cols, double lo, double hi) {
  Tensor t(rows, cols);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = real(rng.uniform(lo, hi));
  return t;
}

// The G experts as modules (the modular path), and their parameters side by
// side, expert g in columns [g*N, (g+1)*N), as leaves of the fused op.
struct ExpertLayer {
  Index B, K, N, G;
  std::vector<std::unique_ptr<nn::Sequential>> experts;
  std::vector<nn::Linear*> linears;
  Var w, b, gamma, beta;   // [K,G*N], [1,G*N] x 3
  Var x_fused, x_modular;  // [B,K], the same values: each path gets its own dx
  Tensor dz;               // [B,G*N], the gradient fed to the backward

  explicit ExpertLayer(const Options& o) : B(o.batch), K(o.in), N(o.out), G(o.experts) {
    Rng rng(o.seed);
    std::vector<Var> ws, bs, gs, betas;
    for (Index g = 0; g < G; ++g) {
      auto e = std::make_unique<nn::Sequential>();
      nn::Linear& lin = e->append(std::make_unique<nn::Linear>(K, N, rng));  // nn.Linear's init
      nn::LayerNorm& norm = e->append(std::make_unique<nn::LayerNorm>(N));
      e->append(std::make_unique<nn::ReLU>());
      // LayerNorm starts at weight 1, bias 0; other values let the check see them.
      Var(norm.weight()).value() = random_tensor(rng, 1, N, 0.5, 1.5);
      Var(norm.bias()).value() = random_tensor(rng, 1, N, -0.5, 0.5);
      ws.push_back(lin.weight());
      bs.push_back(lin.bias());
      gs.push_back(norm.weight());
      betas.push_back(norm.bias());
      linears.push_back(&lin);
      experts.push_back(std::move(e));
    }
    NoGradGuard no_graph;
    w = Var(concat_cols(ws).value(), true);
    b = Var(concat_cols(bs).value(), true);
    gamma = Var(concat_cols(gs).value(), true);
    beta = Var(concat_cols(betas).value(), true);
    const Tensor x = random_tensor(rng, B, K, -1, 1);
    x_fused = Var(x, true);
    x_modular = Var(x, true);
    dz = random_tensor(rng, B, G * N, -1, 1);
  }

  Var fused() const { return linear_ln_relu(x_fused, w, b, gamma, beta, G, real(1e-5)); }
  Var modular() const {
    std::vector<Var> outs;
    for (const auto& e : experts) outs.push_back(e->forward(x_modular));
    return concat_cols(outs);
  }
  void zero_grad() {
    for (Var v : {w, b, gamma, beta, x_fused, x_modular}) v.zero_grad();
    for (const auto& e : experts) e->zero_grad();
  }
  // The modular path's weight gradient, side by side like w: [K,G*N].
  Tensor modular_weight_grad() const {
    Tensor dw(K, G * N);
    for (Index g = 0; g < G; ++g)
      dw.middleCols(g * N, N) = linears[std::size_t(g)]->weight().grad();
    return dw;
  }
};

// The two paths through the graph.
struct Path {
  const char* name;
  Var (ExpertLayer::*run)() const;
  bool fused;
};
constexpr Path kPaths[] = {{"fused", &ExpertLayer::fused, true},
                           {"modular", &ExpertLayer::modular, false}};

// ---------------------------------------------------------------- reference

// C = A B in double: the textbook loop (i, p, j), rows over OpenMP threads.
MatD product(const MatD& a, const MatD& b) {
  MatD c = MatD::Zero(a.rows(), b.cols());
#pragma omp parallel for schedule(static)
  for (Index i = 0; i < a.rows(); ++i)
    for (Index p = 0; p < a.cols(); ++p)
      for (Index j = 0; j < b.cols(); ++j) c(i, j) += a(i, p) * b(p, j);
  return c;
}

// The layer in double, written out: u = x W + b; per row and group g,
// xhat = (u - mean) * rstd with rstd = 1 / sqrt(var + eps); z = max(0, gamma xhat + beta).
struct Reference {
  MatD x, w, t, xhat, rstd, z;  // t = x W [B,G*N]; rstd [B,G]
  MatD dt, dx, dw;              // from backward()
  Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> gate;  // dt's ReLU gate

  explicit Reference(const ExpertLayer& L)
      : x(L.x_fused.value().cast<double>()), w(L.w.value().cast<double>()) {
    const Index N = L.N, G = L.G;
    const MatD bias = L.b.value().cast<double>(), gamma = L.gamma.value().cast<double>(),
               beta = L.beta.value().cast<double>();
    t = product(x, w);
    xhat = t.rowwise() + bias.row(0);  // u, normalised in place below
    rstd.resize(L.B, G);
    z.resize(L.B, G * N);
    for (Index r = 0; r < L.B; ++r)
      for (Index g = 0; g < G; ++g) {
        double mean = 0, var = 0;
        for (Index j = g * N; j < (g + 1) * N; ++j) mean += xhat(r, j) / double(N);
        for (Index j = g * N; j < (g + 1) * N; ++j)
          var += std::pow(xhat(r, j) - mean, 2) / double(N);
        rstd(r, g) = 1.0 / std::sqrt(var + 1e-5);
        for (Index j = g * N; j < (g + 1) * N; ++j) {
          xhat(r, j) = (xhat(r, j) - mean) * rstd(r, g);
          z(r, j) = std::max(0.0, gamma(0, j) * xhat(r, j) + beta(0, j));
        }
      }
  }

  // dy = dz where the ReLU passed, g = dy gamma, and per row and group
  // dt = rstd (g - mean(g) - xhat mean(g xhat)); then dx = dt W^T, dW = x^T dt.
  // The ReLU gate is taken from `z_gate`, the float path's own output: an
  // output within rounding of 0 must not flip the gate between float and double.
  // (The fused and the modular path mostly agree on it: then it runs once.)
  void backward(const ExpertLayer& L, const Tensor& z_gate) {
    if (dt.size() != 0 && (gate == (z_gate.array() > 0)).all()) return;
    gate = z_gate.array() > 0;
    const Index N = L.N, G = L.G;
    dt.resize(L.B, G * N);
    for (Index r = 0; r < L.B; ++r)
      for (Index g = 0; g < G; ++g) {
        double mean_g = 0, mean_gx = 0;
        for (Index j = g * N; j < (g + 1) * N; ++j) {
          const double gj = gate(r, j) ? L.dz(r, j) * L.gamma.value()(0, j) : 0.0;
          dt(r, j) = gj;
          mean_g += gj / double(N);
          mean_gx += gj * xhat(r, j) / double(N);
        }
        for (Index j = g * N; j < (g + 1) * N; ++j)
          dt(r, j) = rstd(r, g) * (dt(r, j) - mean_g - xhat(r, j) * mean_gx);
      }
    dx = product(dt, w.transpose());
    dw = product(x.transpose(), dt);
  }
};

// ---------------------------------------------------------------- raw products

// The layer's products alone on float inputs: forward t = x w, backward
// dx = dt w^T and dw = x^T dt.
struct Products {
  Tensor x, w, dt;  // [B,K], [K,G*N], [B,G*N]
  Tensor t, dx, dw;
};
using ProductsFn = void (*)(Products&);

// The Backend call for c = op(a) op(b).
backend::GemmCall gemm_call(Tensor& c, const Tensor& a, bool ta, const Tensor& b, bool tb) {
  return {ta, tb, c.rows(), c.cols(), ta ? a.rows() : a.cols(), 1.0f, a.data(), a.cols(),
          b.data(), b.cols(), 0.0f, c.data(), c.cols()};
}
void m3oe_forward(Products& p) { backend::active().gemm(gemm_call(p.t, p.x, false, p.w, false)); }
void m3oe_backward(Products& p) {
  backend::active().gemm_pair(gemm_call(p.dx, p.dt, false, p.w, true),
                              gemm_call(p.dw, p.x, true, p.dt, false));
}
void eigen_forward(Products& p) { p.t.noalias() = p.x * p.w; }
void eigen_backward(Products& p) {
  p.dx.noalias() = p.dt * p.w.transpose();
  p.dw.noalias() = p.x.transpose() * p.dt;
}
#ifdef M3OE_HAVE_OPENBLAS
void sgemm(Tensor& c, const Tensor& a, bool ta, const Tensor& b, bool tb) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              int(c.rows()), int(c.cols()), int(ta ? a.rows() : a.cols()), 1.0f, a.data(),
              int(a.cols()), b.data(), int(b.cols()), 0.0f, c.data(), int(c.cols()));
}
void openblas_forward(Products& p) { sgemm(p.t, p.x, false, p.w, false); }
void openblas_backward(Products& p) {
  sgemm(p.dx, p.dt, false, p.w, true);
  sgemm(p.dw, p.x, true, p.dt, false);
}
#endif

struct GemmWay {
  const char* name;
  ProductsFn forward, backward;
};
std::vector<GemmWay> gemm_ways() {
  std::vector<GemmWay> ways{{"gemm_m3oe", m3oe_forward, m3oe_backward},
                            {"gemm_eigen", eigen_forward, eigen_backward}};
#ifdef M3OE_HAVE_OPENBLAS
  // Last: OpenBLAS's threads keep spinning after a call and would slow the
  // OpenMP cases after it (docs/kernels.md, "Benchmarks").
  ways.push_back({"gemm_openblas", openblas_forward, openblas_backward});
#endif
  return ways;
}

// ---------------------------------------------------------------- the check

constexpr double kTolerance = 1e-3;  // x max(1, max |reference|)

// Max |got - want|, noting in `failures` when it is over the tolerance.
// Float against double differs by rounding, ~1e-6 of the values; a wrong
// kernel by their size, so 1e-3 tells them apart with room to spare.
double compare(const char* way, const char* what, const Tensor& got, const MatD& want,
               std::vector<std::string>& failures) {
  const double diff = (got.cast<double>() - want).cwiseAbs().maxCoeff<Eigen::PropagateNaN>();
  const double tol = kTolerance * std::max(1.0, want.cwiseAbs().maxCoeff());
  if (!(diff <= tol)) {
    char line[200];
    std::snprintf(line, sizeof line, "%s: %s differs from the reference by %.3g > tolerance %.3g",
                  way, what, diff, tol);
    failures.push_back(line);
  }
  return diff;
}

// Runs every way once and compares it with the reference; true if all agree.
bool check(ExpertLayer& L, const Options& o) {
  Reference ref(L);
  std::vector<std::string> failed;
  std::printf("check against a double-precision reference, max |difference| (tolerance %.0e "
              "x max(1, max |reference|)):\n", kTolerance);
  for (const Path& path : kPaths) {
    L.zero_grad();
    const Var z = (L.*path.run)();
    std::printf("  %-14s z %.2e", path.name, compare(path.name, "z", z.value(), ref.z, failed));
    if (o.backward) {
      z.backward(L.dz);
      ref.backward(L, z.value());
      const Tensor& dx = (path.fused ? L.x_fused : L.x_modular).grad();
      const Tensor dw = path.fused ? L.w.grad() : L.modular_weight_grad();
      const double dx_diff = compare(path.name, "dx", dx, ref.dx, failed);
      std::printf("  dx %.2e  dW %.2e", dx_diff, compare(path.name, "dW", dw, ref.dw, failed));
    }
    std::printf("\n");
  }
  Products p{L.x_fused.value(), L.w.value(), ref.dt.cast<real>(), {}, {}, {}};
  for (const GemmWay& way : gemm_ways()) {
    p.t.setConstant(L.B, L.G * L.N, NAN);
    way.forward(p);
    std::printf("  %-14s T %.2e", way.name, compare(way.name, "T = X W", p.t, ref.t, failed));
    if (o.backward) {
      p.dx.setConstant(L.B, L.K, NAN);
      p.dw.setConstant(L.K, L.G * L.N, NAN);
      way.backward(p);
      const double dx_diff = compare(way.name, "dX = dT W^T", p.dx, ref.dx, failed);
      const double dw_diff = compare(way.name, "dW = X^T dT", p.dw, ref.dw, failed);
      std::printf("  dX %.2e  dW %.2e", dx_diff, dw_diff);
    }
    std::printf("\n");
  }
  for (const std::string& f : failed) std::printf("  %s\n", f.c_str());
  std::printf("check: %s\n", failed.empty() ? "passed" : "FAILED, nothing timed");
  return failed.empty();
}

// ---------------------------------------------------------------- timing

using Clock = std::chrono::steady_clock;

// Median over o.repeat batches of the ms per call of timed(), each call after
// an untimed prepare(); a batch holds as many calls as fill its share of
// o.min_time (at least one), judged from the second warm-up call.
double ms_per_call(const std::function<void()>& prepare, const std::function<void()>& timed,
                   const Options& o) {
  auto one_call = [&] {
    prepare();
    const auto start = Clock::now();
    timed();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  one_call();
  const double estimate = std::max(one_call(), 1e-9);
  const long calls = std::max(1L, long(o.min_time / o.repeat / estimate));
  std::vector<double> batches;
  for (int r = 0; r < o.repeat; ++r) {
    double seconds = 0;
    for (long c = 0; c < calls; ++c) seconds += one_call();
    batches.push_back(seconds / double(calls));
  }
  std::sort(batches.begin(), batches.end());
  return 1e3 * batches[batches.size() / 2];
}

// The FMA peak of `threads` threads, GFLOP/s: the chains of fma_peak.hpp
// run on all of them at once, each thread's FLOPs divided by its own CPU
// time; the best of 3 runs of the mean per thread, times the threads (at
// most one per core: more threads than cores share them). CPU time rather
// than wall time, so that other processes taking the cores during the run
// do not lower the peak.
double fma_peak_gflops(int threads) {
  constexpr std::int64_t kLoops = 2'000'000;  // 1 GFLOP per thread (AVX-512): ~7 ms
  std::vector<float> sink;
  std::vector<double> cpu_seconds;
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    bench::run_fma_chains(threads, kLoops, sink, &cpu_seconds);
    double per_thread = 0;
    for (double s : cpu_seconds) per_thread += bench::fma_flops(1, kLoops) / s * 1e-9 / threads;
    best = std::max(best, per_thread);
  }
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return best * std::min(threads, cores);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  keep_freed_memory();  // the heap policy of the m3oe command
  // Threads as `m3oe --threads` applies them; without the flag num_threads()
  // is OpenMP's default: OMP_NUM_THREADS, else all cores.
  if (o.threads > 0) set_num_threads(o.threads);
  const int threads = num_threads();
  Eigen::setNbThreads(threads);
#ifdef M3OE_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif

  ExpertLayer L(o);
  const double fwd_flops = 2.0 * double(L.B) * double(L.K) * double(L.N) * double(L.G);
  const double peak = o.peak_gflops > 0 ? o.peak_gflops : fma_peak_gflops(threads);
  std::printf("bench_expert: %lld experts ReLU(LayerNorm(Linear %lld -> %lld)), batch %lld, "
              "%d thread%s\n",
              (long long)L.G, (long long)L.K, (long long)L.N, (long long)L.B, threads,
              threads == 1 ? "" : "s");
  std::printf("FLOPs counted: the products only, 2*B*K*N*G = %.4g MFLOP forward, twice that "
              "backward\n", fwd_flops * 1e-6);
  std::printf("FMA peak: %.1f GFLOP/s on %d thread%s (%s, %s, %zu floats per register)\n",
              peak, threads, threads == 1 ? "" : "s",
              o.peak_gflops > 0 ? "given by --peak-gflops" : "measured on CPU time",
              xsimd::default_arch::name(), std::size_t(xsimd::batch<float>::size));
  if (!check(L, o)) return 1;

  std::printf("\n%-14s %-9s %12s %10s %10s\n", "case", "pass", "ms/call", "GFLOP/s", "% of peak");
  auto report = [&](const char* name, bool backward, double ms) {
    const double gflops = (backward ? 2 : 1) * fwd_flops / (ms * 1e-3) * 1e-9;
    std::printf("%-14s %-9s %12.4f %10.1f %10.1f\n", name, backward ? "backward" : "forward", ms,
                gflops, 100 * gflops / peak);
    std::fflush(stdout);
  };
  const auto nothing = [] {};
  Var z;  // the last result; a forward's graph is freed before the next, untimed
  const auto free_z = [&] { z = Var(); };
  for (const Path& path : kPaths) {
    if (o.forward) report(path.name, false, ms_per_call(free_z, [&] { z = (L.*path.run)(); }, o));
    if (o.backward)
      report(path.name, true, ms_per_call([&] { L.zero_grad(); z = (L.*path.run)(); },
                                          [&] { z.backward(L.dz); }, o));
  }
  free_z();
  // The products' timing does not depend on the values: dz stands in for dt.
  Products p{L.x_fused.value(), L.w.value(), L.dz, Tensor(L.B, L.G * L.N), Tensor(L.B, L.K),
             Tensor(L.K, L.G * L.N)};
  for (const GemmWay& way : gemm_ways()) {
    if (o.forward) report(way.name, false, ms_per_call(nothing, [&] { way.forward(p); }, o));
    if (o.backward) report(way.name, true, ms_per_call(nothing, [&] { way.backward(p); }, o));
  }
  return 0;
}
