// The CPU backend's row kernels (fused bias + LayerNorm + ReLU, LayerNorm,
// softmax) against the reference kernels, the fused reference against the
// unfused composition, and independence of the thread count. Built for the
// float and for the double library.
//
// Tolerances (relative to the largest |value| of the array compared):
//   per-row outputs (z, xhat, rstd, LayerNorm out, softmax): 32 eps, about
//     4e-6 in float: each is a short chain of roundings on top of row
//     statistics that both kernels sum in different orders;
//   dt / dx: 256 eps (3e-5 in float): they subtract two row means of similar
//     size (cancellation), which magnifies the rounding of both;
//   column sums over rows (dgamma, dbeta, dbias): 4 eps * rows, since the
//     CPU kernel adds per-piece partial sums and the reference one long sum.
#include "autograd/backend/backend.hpp"
#include "autograd/backend/threads.hpp"
#include "kernel_test_util.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace m3oe;
using namespace m3oe::test;

namespace {

constexpr double kRowTol = 32 * kEps;
constexpr double kGradTol = 256 * kEps;
double sum_tol(Index rows) { return 4 * kEps * double(std::max<Index>(rows, 64)); }

const Index kShapes[][2] = {{1, 1}, {3, 7}, {5, 64}, {2, 17}, {64, 256}, {130, 113}, {1000, 64},
                            {4096, 64}, {301, 512}};

std::string shape_name(Index rows, Index cols) {
  std::ostringstream s;
  s << "rows=" << rows << " cols=" << cols;
  return s.str();
}

// The fused forward's inputs and outputs for one shape.
struct FusedForward {
  Array t, bias, gamma, beta, z, xhat, rstd;
  FusedForward(Index rows, Index cols, unsigned seed)
      : t(random_array(std::size_t(rows * cols), seed, -2, 3)),
        bias(random_array(std::size_t(cols), seed + 1)),
        gamma(random_array(std::size_t(cols), seed + 2, 0.5, 1.5)),
        beta(random_array(std::size_t(cols), seed + 3, -0.3, 0.3)),
        z(std::size_t(rows * cols)), xhat(std::size_t(rows * cols)), rstd(std::size_t(rows)) {}
  void run(backend::Backend& be, Index rows, Index cols, bool with_bias) {
    be.bias_layernorm_relu_forward(t.data(), with_bias ? bias.data() : nullptr, gamma.data(),
                                   beta.data(), rows, cols, real(1e-5), z.data(), xhat.data(),
                                   rstd.data());
  }
};

// The fused backward's gradients, starting from given accumulators.
struct FusedGrads {
  Array dt, dbias, dgamma, dbeta;
  FusedGrads(Index rows, Index cols)
      : dt(random_array(std::size_t(rows * cols), 7)),  // garbage: dt is overwritten
        dbias(random_array(std::size_t(cols), 8)),      // the sums accumulate onto these
        dgamma(random_array(std::size_t(cols), 9)),
        dbeta(random_array(std::size_t(cols), 10)) {}
};

void fused_backward(backend::Backend& be, const FusedForward& f, const Array& dz, Index rows,
                    Index cols, FusedGrads& g) {
  be.bias_layernorm_relu_backward(dz.data(), f.z.data(), f.xhat.data(), f.rstd.data(),
                                  f.gamma.data(), rows, cols, g.dt.data(), g.dbias.data(),
                                  g.dgamma.data(), g.dbeta.data());
}

}  // namespace

TEST_CASE("fused bias+LayerNorm+ReLU forward matches the reference") {
  unsigned seed = 1;
  for (const auto& s : kShapes)
    for (bool with_bias : {true, false}) {
      const Index rows = s[0], cols = s[1];
      INFO(shape_name(rows, cols) << " bias=" << with_bias);
      FusedForward cpu(rows, cols, seed), ref(rows, cols, seed);
      seed += 10;
      cpu.run(backend::default_cpu(), rows, cols, with_bias);
      ref.run(backend::reference(), rows, cols, with_bias);
      require_close(cpu.z, ref.z, kRowTol * max_abs(ref.z), "z");
      require_close(cpu.xhat, ref.xhat, kRowTol * max_abs(ref.xhat), "xhat");
      require_close(cpu.rstd, ref.rstd, kRowTol * max_abs(ref.rstd), "rstd");
    }
}

TEST_CASE("fused bias+LayerNorm+ReLU backward matches the reference") {
  unsigned seed = 500;
  for (const auto& s : kShapes) {
    const Index rows = s[0], cols = s[1];
    INFO(shape_name(rows, cols));
    FusedForward f(rows, cols, seed);
    f.run(backend::reference(), rows, cols, true);
    const Array dz = random_array(std::size_t(rows * cols), seed + 5);
    seed += 10;
    FusedGrads cpu(rows, cols), ref(rows, cols);
    fused_backward(backend::default_cpu(), f, dz, rows, cols, cpu);
    fused_backward(backend::reference(), f, dz, rows, cols, ref);
    require_close(cpu.dt, ref.dt, kGradTol * max_abs(ref.dt), "dt");
    require_close(cpu.dbias, ref.dbias, sum_tol(rows) * max_abs(ref.dbias) * 4, "dbias");
    require_close(cpu.dgamma, ref.dgamma, sum_tol(rows) * max_abs(ref.dgamma), "dgamma");
    require_close(cpu.dbeta, ref.dbeta, sum_tol(rows) * max_abs(ref.dbeta), "dbeta");

    // Null outputs are skipped; the others are unchanged by the omission.
    FusedGrads partial(rows, cols);
    backend::default_cpu().bias_layernorm_relu_backward(
        dz.data(), f.z.data(), f.xhat.data(), f.rstd.data(), f.gamma.data(), rows, cols, nullptr,
        nullptr, partial.dgamma.data(), nullptr);
    require_same_bits(partial.dgamma, cpu.dgamma, "dgamma without the other outputs");
  }
}

TEST_CASE("the fused reference equals bias add, LayerNorm, ReLU done one by one") {
  const Index rows = 37, cols = 45;
  backend::Backend& ref = backend::reference();
  FusedForward f(rows, cols, 900);
  f.run(ref, rows, cols, true);

  Array u(f.t.size()), y(f.t.size()), mean(static_cast<std::size_t>(rows)), rstd(static_cast<std::size_t>(rows));
  for (Index r = 0; r < rows; ++r)
    for (Index j = 0; j < cols; ++j) u[std::size_t(r * cols + j)] = f.t[std::size_t(r * cols + j)] + f.bias[std::size_t(j)];
  ref.layernorm_forward(u.data(), f.gamma.data(), f.beta.data(), rows, cols, real(1e-5), y.data(),
                        mean.data(), rstd.data());
  Array z = y;
  for (auto& v : z) v = std::max(v, real(0));
  require_close(f.z, z, kRowTol * max_abs(z), "fused z vs unfused");
  require_close(f.rstd, rstd, kRowTol * max_abs(rstd), "fused rstd vs unfused");

  // Backward: the ReLU gate, then the LayerNorm backward; dbias = column sum of du.
  const Array dz = random_array(f.t.size(), 901);
  Array dy = dz;
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = y[i] > 0 ? dz[i] : real(0);
  Array du(f.t.size(), 0), dgamma(static_cast<std::size_t>(cols), 0), dbeta(static_cast<std::size_t>(cols), 0);
  ref.layernorm_backward(dy.data(), u.data(), f.gamma.data(), mean.data(), rstd.data(), rows, cols,
                         du.data(), dgamma.data(), dbeta.data());
  Array dbias(static_cast<std::size_t>(cols), 0);
  for (Index r = 0; r < rows; ++r)
    for (Index j = 0; j < cols; ++j) dbias[std::size_t(j)] += du[std::size_t(r * cols + j)];

  FusedGrads g(rows, cols);
  std::fill(g.dbias.begin(), g.dbias.end(), real(0));
  std::fill(g.dgamma.begin(), g.dgamma.end(), real(0));
  std::fill(g.dbeta.begin(), g.dbeta.end(), real(0));
  fused_backward(ref, f, dz, rows, cols, g);
  require_close(g.dt, du, kGradTol * max_abs(du), "fused dt vs unfused");
  require_close(g.dbias, dbias, sum_tol(rows) * max_abs(dbias) * 4, "fused dbias vs unfused");
  require_close(g.dgamma, dgamma, sum_tol(rows) * max_abs(dgamma), "fused dgamma vs unfused");
  require_close(g.dbeta, dbeta, sum_tol(rows) * max_abs(dbeta), "fused dbeta vs unfused");
}

TEST_CASE("LayerNorm forward and backward match the reference") {
  unsigned seed = 1000;
  for (const auto& s : kShapes) {
    const Index rows = s[0], cols = s[1];
    INFO(shape_name(rows, cols));
    const std::size_t n = std::size_t(rows * cols);
    const Array x = random_array(n, seed, 1, 4);  // mean far from 0: tests the two-pass variance
    const Array gamma = random_array(std::size_t(cols), seed + 1, 0.5, 1.5);
    const Array beta = random_array(std::size_t(cols), seed + 2);
    const Array dout = random_array(n, seed + 3);
    seed += 10;
    Array out[2], mean[2], rstd[2], dx[2], dgamma[2], dbeta[2];
    backend::Backend* be[2] = {&backend::default_cpu(), &backend::reference()};
    for (int i = 0; i < 2; ++i) {
      out[i].resize(n);
      mean[i].resize(std::size_t(rows));
      rstd[i].resize(std::size_t(rows));
      be[i]->layernorm_forward(x.data(), gamma.data(), beta.data(), rows, cols, real(1e-5),
                               out[i].data(), mean[i].data(), rstd[i].data());
    }
    for (int i = 0; i < 2; ++i) {  // both backwards from the reference statistics
      dx[i] = random_array(n, 3);  // dx accumulates onto this
      dgamma[i] = random_array(std::size_t(cols), 4);
      dbeta[i] = random_array(std::size_t(cols), 5);
      be[i]->layernorm_backward(dout.data(), x.data(), gamma.data(), mean[1].data(), rstd[1].data(),
                                rows, cols, dx[i].data(), dgamma[i].data(), dbeta[i].data());
    }
    require_close(out[0], out[1], kRowTol * max_abs(out[1]), "out");
    require_close(mean[0], mean[1], kRowTol * max_abs(mean[1]), "mean");
    require_close(rstd[0], rstd[1], kRowTol * max_abs(rstd[1]), "rstd");
    require_close(dx[0], dx[1], kGradTol * max_abs(dx[1]), "dx");
    require_close(dgamma[0], dgamma[1], sum_tol(rows) * max_abs(dgamma[1]), "dgamma");
    require_close(dbeta[0], dbeta[1], sum_tol(rows) * max_abs(dbeta[1]), "dbeta");
  }
}

TEST_CASE("softmax rows forward and backward match the reference") {
  const Index shapes[][2] = {{1, 1}, {5, 3}, {40960, 4}, {7, 16}, {33, 33}, {100, 100}, {3, 1000}};
  unsigned seed = 2000;
  for (const auto& s : shapes) {
    const Index rows = s[0], cols = s[1];
    INFO(shape_name(rows, cols));
    const std::size_t n = std::size_t(rows * cols);
    const Array x = random_array(n, seed, -20, 20);
    const Array dy = random_array(n, seed + 1);
    seed += 10;
    Array y[2], dx[2];
    backend::Backend* be[2] = {&backend::default_cpu(), &backend::reference()};
    for (int i = 0; i < 2; ++i) {
      y[i].resize(n);
      be[i]->softmax_rows_forward(x.data(), rows, cols, y[i].data());
    }
    for (int i = 0; i < 2; ++i) {  // both backwards from the reference output
      dx[i] = random_array(n, 6);  // dx accumulates onto this
      be[i]->softmax_rows_backward(y[1].data(), dy.data(), rows, cols, dx[i].data());
    }
    require_close(y[0], y[1], kRowTol, "softmax");  // values in [0, 1]
    require_close(dx[0], dx[1], kGradTol * max_abs(dx[1]), "softmax dx");
  }
}

TEST_CASE("row kernels give the same bits for 1, 2 and 3 threads") {
  const Index rows = 3001, cols = 70;  // many pieces of kRowsPerChunk rows, a ragged last one
  const std::size_t n = std::size_t(rows * cols);
  const Array dz = random_array(n, 77);
  auto run_all = [&](int threads) {
    set_num_threads(threads);
    backend::Backend& cpu = backend::default_cpu();
    FusedForward f(rows, cols, 70);
    f.run(cpu, rows, cols, true);
    FusedGrads g(rows, cols);
    fused_backward(cpu, f, dz, rows, cols, g);
    Array ln(n), mean(static_cast<std::size_t>(rows)), rstd(static_cast<std::size_t>(rows));
    cpu.layernorm_forward(f.t.data(), f.gamma.data(), f.beta.data(), rows, cols, real(1e-5),
                          ln.data(), mean.data(), rstd.data());
    Array dx(n, 0), dgamma(static_cast<std::size_t>(cols), 0), dbeta(static_cast<std::size_t>(cols), 0);
    cpu.layernorm_backward(dz.data(), f.t.data(), f.gamma.data(), mean.data(), rstd.data(), rows,
                           cols, dx.data(), dgamma.data(), dbeta.data());
    Array sm(n), dsm(n, 0);
    cpu.softmax_rows_forward(f.t.data(), rows, cols, sm.data());
    cpu.softmax_rows_backward(sm.data(), dz.data(), rows, cols, dsm.data());
    set_num_threads(0);
    return std::vector<Array>{f.z, f.xhat, f.rstd, g.dt, g.dbias, g.dgamma, g.dbeta, ln, dx,
                              dgamma, dbeta, sm, dsm};
  };
  const auto one = run_all(1), two = run_all(2), three = run_all(3);
  const char* names[] = {"z", "xhat", "rstd", "dt", "dbias", "dgamma", "dbeta", "ln out",
                         "ln dx", "ln dgamma", "ln dbeta", "softmax", "softmax dx"};
  for (std::size_t i = 0; i < one.size(); ++i) {
    require_same_bits(one[i], two[i], std::string(names[i]) + " 1 vs 2 threads");
    require_same_bits(one[i], three[i], std::string(names[i]) + " 1 vs 3 threads");
  }
}

// The grouped kernel (all experts of M3oE as one op): each row is G LayerNorms
// of W values with their own parameters. Checked against the reference, and
// the reference against G separate plain calls on the blocks.
TEST_CASE("grouped bias+LayerNorm+ReLU matches the reference and the per-group kernel") {
  const Index shapes[][3] = {{1, 1, 7}, {3, 4, 5}, {130, 9, 64}, {700, 9, 64}, {65, 3, 17}};
  unsigned seed = 1200;
  for (const auto& s : shapes) {
    const Index rows = s[0], groups = s[1], width = s[2], cols = groups * width;
    INFO("rows=" << rows << " groups=" << groups << " width=" << width);
    FusedForward cpu(rows, cols, seed), ref(rows, cols, seed);
    cpu.rstd.assign(std::size_t(rows * groups), 0);
    ref.rstd.assign(std::size_t(rows * groups), 0);
    seed += 10;
    backend::default_cpu().grouped_bias_layernorm_relu_forward(
        cpu.t.data(), cpu.bias.data(), cpu.gamma.data(), cpu.beta.data(), rows, groups, width,
        real(1e-5), cpu.z.data(), cpu.xhat.data(), cpu.rstd.data());
    backend::reference().grouped_bias_layernorm_relu_forward(
        ref.t.data(), ref.bias.data(), ref.gamma.data(), ref.beta.data(), rows, groups, width,
        real(1e-5), ref.z.data(), ref.xhat.data(), ref.rstd.data());
    require_close(cpu.z, ref.z, kRowTol * max_abs(ref.z), "grouped z");
    require_close(cpu.xhat, ref.xhat, kRowTol * max_abs(ref.xhat), "grouped xhat");
    require_close(cpu.rstd, ref.rstd, kRowTol * max_abs(ref.rstd), "grouped rstd");

    // Group g alone, as a plain [rows, width] problem, gives that block.
    for (Index g = 0; g < groups; ++g) {
      Array t(static_cast<std::size_t>(rows * width)), z(t.size()), xhat(t.size()),
          rstd(static_cast<std::size_t>(rows));
      for (Index r = 0; r < rows; ++r)
        for (Index j = 0; j < width; ++j) t[std::size_t(r * width + j)] = ref.t[std::size_t(r * cols + g * width + j)];
      backend::reference().bias_layernorm_relu_forward(
          t.data(), ref.bias.data() + g * width, ref.gamma.data() + g * width,
          ref.beta.data() + g * width, rows, width, real(1e-5), z.data(), xhat.data(), rstd.data());
      for (Index r = 0; r < rows; ++r) {
        REQUIRE(rstd[std::size_t(r)] == ref.rstd[std::size_t(r * groups + g)]);
        for (Index j = 0; j < width; ++j)
          REQUIRE(z[std::size_t(r * width + j)] == ref.z[std::size_t(r * cols + g * width + j)]);
      }
    }

    const Array dz = random_array(std::size_t(rows * cols), seed + 5);
    FusedGrads gc(rows, cols), gr(rows, cols);
    backend::default_cpu().grouped_bias_layernorm_relu_backward(
        dz.data(), ref.z.data(), ref.xhat.data(), ref.rstd.data(), ref.gamma.data(), rows, groups,
        width, gc.dt.data(), gc.dbias.data(), gc.dgamma.data(), gc.dbeta.data());
    backend::reference().grouped_bias_layernorm_relu_backward(
        dz.data(), ref.z.data(), ref.xhat.data(), ref.rstd.data(), ref.gamma.data(), rows, groups,
        width, gr.dt.data(), gr.dbias.data(), gr.dgamma.data(), gr.dbeta.data());
    require_close(gc.dt, gr.dt, kGradTol * max_abs(gr.dt), "grouped dt");
    require_close(gc.dbias, gr.dbias, sum_tol(rows) * max_abs(gr.dbias) * 4, "grouped dbias");
    require_close(gc.dgamma, gr.dgamma, sum_tol(rows) * max_abs(gr.dgamma), "grouped dgamma");
    require_close(gc.dbeta, gr.dbeta, sum_tol(rows) * max_abs(gr.dbeta), "grouped dbeta");
  }
}

TEST_CASE("the grouped kernel gives the same bits for 1, 2 and 3 threads, and t may be xhat") {
  const Index rows = 2001, groups = 9, width = 64, cols = groups * width;
  const Array dz = random_array(std::size_t(rows * cols), 91);
  auto run = [&](int threads, bool in_place) {
    set_num_threads(threads);
    backend::Backend& cpu = backend::default_cpu();
    FusedForward f(rows, cols, 90);
    f.rstd.assign(std::size_t(rows * groups), 0);
    if (in_place) f.xhat = f.t;  // the ops compute the GEMM into xhat
    cpu.grouped_bias_layernorm_relu_forward(in_place ? f.xhat.data() : f.t.data(), f.bias.data(),
                                            f.gamma.data(), f.beta.data(), rows, groups, width,
                                            real(1e-5), f.z.data(), f.xhat.data(), f.rstd.data());
    FusedGrads g(rows, cols);
    cpu.grouped_bias_layernorm_relu_backward(dz.data(), f.z.data(), f.xhat.data(), f.rstd.data(),
                                             f.gamma.data(), rows, groups, width, g.dt.data(),
                                             g.dbias.data(), g.dgamma.data(), g.dbeta.data());
    set_num_threads(0);
    return std::vector<Array>{f.z, f.xhat, f.rstd, g.dt, g.dbias, g.dgamma, g.dbeta};
  };
  const auto one = run(1, false), two = run(2, false), three = run(3, false), aliased = run(2, true);
  const char* names[] = {"z", "xhat", "rstd", "dt", "dbias", "dgamma", "dbeta"};
  for (std::size_t i = 0; i < one.size(); ++i) {
    require_same_bits(one[i], two[i], std::string(names[i]) + " 1 vs 2 threads");
    require_same_bits(one[i], three[i], std::string(names[i]) + " 1 vs 3 threads");
    require_same_bits(one[i], aliased[i], std::string(names[i]) + " t aliased with xhat");
  }
}
