// kernel_suite.hpp: a CudaBackend checked against the reference kernels.
//
// Shared by test_cuda_loader.cpp (with the fake host plugin, so the suite
// and CudaBackend's forwarding are exercised on every machine) and
// test_cuda_plugin.cpp (with the real plugin on a GPU). Every check compares
// with the reference backend at several shapes, including strided GEMM
// operands, accumulation into non-zero outputs and null optional outputs.
//
// Tolerance `tol` is relative: |got - want| <= tol * scale, where scale is
// max(1, |want|) for row kernels, and for GEMM |alpha| * sum_k |a||b| +
// |beta * c| of the entry (cuBLAS may sum in another order than Eigen).
#pragma once

#include "autograd/backend/cuda_loader.hpp"
#include "autograd/ops.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace cuda_suite {

using m3oe::Index;
using m3oe::Tensor;
using m3oe::backend::Backend;
using m3oe::backend::CudaBackend;

inline Tensor random(Index rows, Index cols, std::uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(rows, cols);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = dist(gen);
  return t;
}

// max over entries of |got - want| / max(1, |want|).
inline double rel_err(const float* got, const float* want, Index n) {
  double worst = 0;
  for (Index i = 0; i < n; ++i) {
    const double d = std::abs(double(got[i]) - want[i]) / std::max(1.0, std::abs(double(want[i])));
    if (!(d <= worst)) worst = d;  // a NaN makes it NaN, which fails every check
  }
  return worst;
}
inline double rel_err(const Tensor& got, const Tensor& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  return rel_err(got.data(), want.data(), got.size());
}

struct Shape {
  Index m, n, k;
};

// C = alpha op(A) op(B) + beta C, all four transpositions, operands stored
// with row padding (ld > cols) to check the strides; the padding of C must
// come back untouched, and beta = 0 must ignore NaNs in C.
inline void check_gemm(Backend& b, double tol) {
  const Shape shapes[] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {128, 96, 200}, {300, 257, 129},
                          {4, 3, 0}};
  const float coefs[][2] = {{1.f, 0.f}, {-0.7f, 1.f}, {0.5f, 0.25f}};
  constexpr float kPad = 12345.f;
  std::uint32_t seed = 1;
  for (const Shape& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (const auto& coef : coefs) {
          const float alpha = coef[0], beta = coef[1];
          CAPTURE(s.m);
          CAPTURE(s.n);
          CAPTURE(s.k);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(beta);
          const Index ar = ta ? s.k : s.m, ac = ta ? s.m : s.k;
          const Index br = tb ? s.n : s.k, bc = tb ? s.k : s.n;
          const Tensor A = random(ar, ac + 3, seed++), B = random(br, bc + 2, seed++);
          Tensor C = random(s.m, s.n + 1, seed++);
          for (Index i = 0; i < s.m; ++i) {
            C(i, s.n) = kPad;
            if (beta == 0.f)
              for (Index j = 0; j < s.n; ++j) C(i, j) = std::numeric_limits<float>::quiet_NaN();
          }
          Tensor want = C, got = C;
          m3oe::backend::reference().gemm(ta, tb, s.m, s.n, s.k, alpha, A.data(), A.cols(),
                                          B.data(), B.cols(), beta, want.data(), want.cols());
          b.gemm(ta, tb, s.m, s.n, s.k, alpha, A.data(), A.cols(), B.data(), B.cols(), beta,
                 got.data(), got.cols());
          double worst = 0;
          bool pad_kept = true;
          for (Index i = 0; i < s.m; ++i) {
            pad_kept = pad_kept && got(i, s.n) == kPad;
            for (Index j = 0; j < s.n; ++j) {
              double scale = beta == 0.f ? 0.0 : std::abs(double(beta) * C(i, j));
              for (Index p = 0; p < s.k; ++p)
                scale += std::abs(double(alpha) * (ta ? A(p, i) : A(i, p)) *
                                  (tb ? B(j, p) : B(p, j)));
              const double d = std::abs(double(got(i, j)) - want(i, j)) / std::max(scale, 1e-30);
              if (!(d <= worst)) worst = d;
            }
          }
          CHECK(pad_kept);
          CHECK(worst <= tol);
        }
}

inline void check_layernorm(Backend& b, double tol) {
  const Shape shapes[] = {{1, 1, 0}, {3, 5, 0}, {33, 64, 0}, {500, 257, 0}, {2048, 16, 0}};
  std::uint32_t seed = 100;
  for (const Shape& s : shapes) {
    const Index rows = s.m, cols = s.n;
    CAPTURE(rows);
    CAPTURE(cols);
    const Tensor x = random(rows, cols, seed++, -2.f, 4.f);  // a non-zero mean
    const Tensor gamma = random(1, cols, seed++, 0.5f, 1.5f), beta = random(1, cols, seed++);
    Tensor out_w(rows, cols), mean_w(rows, 1), rstd_w(rows, 1);
    Tensor out_g(rows, cols), mean_g(rows, 1), rstd_g(rows, 1);
    m3oe::backend::reference().layernorm_forward(x.data(), gamma.data(), beta.data(), rows, cols,
                                                 1e-5f, out_w.data(), mean_w.data(),
                                                 rstd_w.data());
    b.layernorm_forward(x.data(), gamma.data(), beta.data(), rows, cols, 1e-5f, out_g.data(),
                        mean_g.data(), rstd_g.data());
    CHECK(rel_err(out_g, out_w) <= tol);
    CHECK(rel_err(mean_g, mean_w) <= tol);
    CHECK(rel_err(rstd_g, rstd_w) <= tol);

    // Backward on the reference's saved statistics; outputs accumulate into
    // non-zero values, and each optional output may be left out.
    const Tensor dout = random(rows, cols, seed++);
    for (int mask = 1; mask < 8; ++mask) {
      CAPTURE(mask);
      const bool want_dx = mask & 1, want_dg = mask & 2, want_db = mask & 4;
      Tensor dx_w = random(rows, cols, seed), dg_w = random(1, cols, seed + 1),
             db_w = random(1, cols, seed + 2);
      Tensor dx_g = dx_w, dg_g = dg_w, db_g = db_w;
      m3oe::backend::reference().layernorm_backward(
          dout.data(), x.data(), gamma.data(), mean_w.data(), rstd_w.data(), rows, cols,
          want_dx ? dx_w.data() : nullptr, want_dg ? dg_w.data() : nullptr,
          want_db ? db_w.data() : nullptr);
      b.layernorm_backward(dout.data(), x.data(), gamma.data(), mean_w.data(), rstd_w.data(),
                           rows, cols, want_dx ? dx_g.data() : nullptr,
                           want_dg ? dg_g.data() : nullptr, want_db ? db_g.data() : nullptr);
      CHECK(rel_err(dx_g, dx_w) <= tol);
      CHECK(rel_err(dg_g, dg_w) <= tol);
      CHECK(rel_err(db_g, db_w) <= tol);
    }
    seed += 3;
  }
}

inline void check_softmax(Backend& b, double tol) {
  const Shape shapes[] = {{1, 1, 0}, {4, 10, 0}, {100, 1000, 0}, {1000, 7, 0}};
  std::uint32_t seed = 200;
  for (const Shape& s : shapes) {
    CAPTURE(s.m);
    CAPTURE(s.n);
    const Tensor x = random(s.m, s.n, seed++, -5.f, 5.f);
    Tensor y_w(s.m, s.n), y_g(s.m, s.n);
    m3oe::backend::reference().softmax_rows_forward(x.data(), s.m, s.n, y_w.data());
    b.softmax_rows_forward(x.data(), s.m, s.n, y_g.data());
    CHECK(rel_err(y_g, y_w) <= tol);
    const Tensor dy = random(s.m, s.n, seed++);
    Tensor dx_w = random(s.m, s.n, seed++), dx_g = dx_w;  // accumulates
    m3oe::backend::reference().softmax_rows_backward(y_w.data(), dy.data(), s.m, s.n, dx_w.data());
    b.softmax_rows_backward(y_w.data(), dy.data(), s.m, s.n, dx_g.data());
    CHECK(rel_err(dx_g, dx_w) <= tol);
  }
}

inline void check_bias_layernorm_relu(Backend& b, double tol) {
  const Shape shapes[] = {{1, 1, 0}, {5, 7, 0}, {64, 48, 0}, {1000, 130, 0}};
  std::uint32_t seed = 300;
  for (const Shape& s : shapes)
    for (int with_bias = 0; with_bias < 2; ++with_bias) {
      const Index rows = s.m, cols = s.n;
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(with_bias);
      const Tensor t = random(rows, cols, seed++, -3.f, 3.f), bias = random(1, cols, seed++);
      const Tensor gamma = random(1, cols, seed++, 0.5f, 1.5f), beta = random(1, cols, seed++);
      const float* bias_p = with_bias ? bias.data() : nullptr;
      Tensor z_w(rows, cols), xhat_w(rows, cols), rstd_w(rows, 1);
      Tensor z_g(rows, cols), xhat_g(rows, cols), rstd_g(rows, 1);
      m3oe::backend::reference().bias_layernorm_relu_forward(
          t.data(), bias_p, gamma.data(), beta.data(), rows, cols, 1e-5f, z_w.data(),
          xhat_w.data(), rstd_w.data());
      b.bias_layernorm_relu_forward(t.data(), bias_p, gamma.data(), beta.data(), rows, cols,
                                    1e-5f, z_g.data(), xhat_g.data(), rstd_g.data());
      CHECK(rel_err(z_g, z_w) <= tol);
      CHECK(rel_err(xhat_g, xhat_w) <= tol);
      CHECK(rel_err(rstd_g, rstd_w) <= tol);

      // Backward from the reference's saved z, xhat, rstd (so both apply the
      // same ReLU mask); dt is overwritten (starts as NaN), the rest accumulate.
      const Tensor dz = random(rows, cols, seed++);
      for (int mask = 1; mask < 16; ++mask) {
        CAPTURE(mask);
        const bool w_dt = mask & 1, w_dbias = mask & 2, w_dg = mask & 4, w_db = mask & 8;
        Tensor dt_w = Tensor::Constant(rows, cols, std::numeric_limits<float>::quiet_NaN());
        Tensor dbias_w = random(1, cols, seed), dg_w = random(1, cols, seed + 1),
               db_w = random(1, cols, seed + 2);
        Tensor dt_g = dt_w, dbias_g = dbias_w, dg_g = dg_w, db_g = db_w;
        m3oe::backend::reference().bias_layernorm_relu_backward(
            dz.data(), z_w.data(), xhat_w.data(), rstd_w.data(), gamma.data(), rows, cols,
            w_dt ? dt_w.data() : nullptr, w_dbias ? dbias_w.data() : nullptr,
            w_dg ? dg_w.data() : nullptr, w_db ? db_w.data() : nullptr);
        b.bias_layernorm_relu_backward(dz.data(), z_w.data(), xhat_w.data(), rstd_w.data(),
                                       gamma.data(), rows, cols, w_dt ? dt_g.data() : nullptr,
                                       w_dbias ? dbias_g.data() : nullptr,
                                       w_dg ? dg_g.data() : nullptr, w_db ? db_g.data() : nullptr);
        if (w_dt) CHECK(rel_err(dt_g, dt_w) <= tol);
        CHECK(rel_err(dbias_g, dbias_w) <= tol);
        CHECK(rel_err(dg_g, dg_w) <= tol);
        CHECK(rel_err(db_g, db_w) <= tol);
      }
      seed += 3;
    }
}

// The plugin kernels that have no Backend virtual, against plain loops.
inline void check_elementwise(CudaBackend& b, double tol) {
  for (Index n : {Index(0), Index(1), Index(1000), Index(100003)}) {
    CAPTURE(n);
    const Tensor x = random(1, n, 400), y0 = random(1, n, 401);
    Tensor want(1, n), got(1, n);
    want = y0;
    got = y0;
    for (Index i = 0; i < n; ++i) want(0, i) += -1.5f * x(0, i);
    b.axpy(n, -1.5f, x.data(), got.data());
    CHECK(rel_err(got.data(), want.data(), n) <= tol);
    for (Index i = 0; i < n; ++i) want(0, i) = x(0, i) + y0(0, i);
    b.add(n, x.data(), y0.data(), got.data());
    CHECK(rel_err(got.data(), want.data(), n) == 0);
    for (Index i = 0; i < n; ++i) want(0, i) = x(0, i) * y0(0, i);
    b.mul(n, x.data(), y0.data(), got.data());
    CHECK(rel_err(got.data(), want.data(), n) == 0);
    for (Index i = 0; i < n; ++i) want(0, i) = x(0, i) > 0.f ? x(0, i) : 0.f;
    b.relu_forward(n, x.data(), got.data());
    CHECK(rel_err(got.data(), want.data(), n) == 0);
    const Tensor relu_y = want;  // dx += dy where y > 0, into a non-zero dx
    want = x;
    got = x;
    for (Index i = 0; i < n; ++i)
      if (relu_y(0, i) > 0.f) want(0, i) += y0(0, i);
    b.relu_backward(n, relu_y.data(), y0.data(), got.data());
    CHECK(rel_err(got.data(), want.data(), n) == 0);
  }
}

inline void check_embedding(CudaBackend& b) {
  const Index vocab = 50, dim = 24;
  const Tensor table = random(vocab, dim, 500);
  const std::vector<std::int32_t> ids = {3, 49, 0, 3, 17, 3, 49, 8, 0, 22, 3};
  const Index count = Index(ids.size());
  Tensor got(count, dim);
  b.embedding_gather(table.data(), vocab, dim, ids.data(), count, got.data());
  for (Index i = 0; i < count; ++i) CHECK(got.row(i) == table.row(ids[i]));

  // Duplicated ids add in the order i = 0, 1, ...: bit-equal to the loop.
  const Tensor dout = random(count, dim, 501);
  Tensor want = random(vocab, dim, 502), grad = want;
  for (Index i = 0; i < count; ++i) want.row(ids[i]) += dout.row(i);
  b.embedding_scatter_add(dout.data(), ids.data(), count, dim, grad.data(), vocab);
  CHECK(grad == want);

  const std::vector<std::int32_t> bad = {1, 2, 50};
  Tensor out(3, dim);
  CHECK_THROWS_WITH_AS(b.embedding_gather(table.data(), vocab, dim, bad.data(), 3, out.data()),
                       doctest::Contains("ids[2] = 50 is outside [0, 50)"), std::runtime_error);
  CHECK_THROWS_WITH_AS(
      b.embedding_scatter_add(dout.data(), bad.data(), 3, dim, grad.data(), vocab),
      doctest::Contains("ids[2] = 50 is outside [0, 50)"), std::runtime_error);
  CHECK(grad == want);  // a refused call changes nothing
}

// linear -> layer_norm -> relu -> linear -> sigmoid -> bce, forward and
// backward through the ops, on the CPU backend and on `b`.
struct MlpResult {
  float loss;
  std::vector<Tensor> grads;
};

inline MlpResult run_mlp(Backend& b) {
  using namespace m3oe;
  backend::ScopedBackend use(b);
  const Index batch = 64, in = 24, hidden = 32;
  Var x(random(batch, in, 600));
  Var w1(random(in, hidden, 601, -0.3f, 0.3f), true), b1(random(1, hidden, 602), true);
  Var g(random(1, hidden, 603, 0.8f, 1.2f), true), be(random(1, hidden, 604, -0.1f, 0.1f), true);
  Var w2(random(hidden, 1, 605, -0.3f, 0.3f), true), b2(random(1, 1, 606), true);
  Tensor y(batch, 1);
  for (Index i = 0; i < batch; ++i) y(i, 0) = float(i % 3 == 0);
  Var h = relu(layer_norm(linear(x, w1, b1), g, be));
  Var loss = bce(sigmoid(linear(h, w2, b2)), y);
  loss.backward();
  return {loss.item(), {w1.grad(), b1.grad(), g.grad(), be.grad(), w2.grad(), b2.grad()}};
}

inline void check_mlp(Backend& b, double tol) {
  const MlpResult cpu = run_mlp(m3oe::backend::default_cpu());
  const MlpResult dev = run_mlp(b);
  CHECK(std::abs(dev.loss - cpu.loss) <= tol * std::max(1.f, std::abs(cpu.loss)));
  REQUIRE(dev.grads.size() == cpu.grads.size());
  for (std::size_t i = 0; i < cpu.grads.size(); ++i) {
    CAPTURE(i);
    // Gradients are small numbers: compare relative to the largest entry.
    const double scale = std::max(1e-3, double(cpu.grads[i].cwiseAbs().maxCoeff()));
    CHECK((dev.grads[i] - cpu.grads[i]).cwiseAbs().maxCoeff() <= tol * scale);
  }
}

}  // namespace cuda_suite
