// The CPU backend's GEMM (the packed xsimd kernel in the float build) against
// the reference GEMM, and its independence of the thread count.
//
// Tolerance: both results are sums of the same k products in different
// orders, each within gamma_k = k*eps/(1 - k*eps) of the exact value relative
// to (|alpha| |op(A)| |op(B)| + |beta| |C|), so they may differ by twice that.
// The test allows 2 * (k + 2) * eps times that bound per element: a rigorous
// bound (it cannot fail on correct code) that still catches any wrong term.
#include "autograd/backend/backend.hpp"
#include "autograd/backend/allocator.hpp"
#include "autograd/backend/threads.hpp"
#include "kernel_test_util.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <sstream>

using namespace m3oe;
using namespace m3oe::test;

namespace {

struct Case {
  bool ta, tb;
  Index m, n, k;
  Index pad_a, pad_b, pad_c;  // leading dimension = columns + pad
  real alpha, beta;
};

std::string describe(const Case& c) {
  std::ostringstream s;
  s << (c.ta ? "A^T" : "A") << (c.tb ? " B^T" : " B") << " m=" << c.m << " n=" << c.n
    << " k=" << c.k << " pads=" << c.pad_a << "," << c.pad_b << "," << c.pad_c
    << " alpha=" << c.alpha << " beta=" << c.beta;
  return s.str();
}

// The operands of one case, stored as the kernels see them.
struct Operands {
  Index lda, ldb, ldc;
  Array a, b, c0;
};

Operands make_operands(const Case& c, unsigned seed) {
  Operands o;
  const Index a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const Index b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  o.lda = a_cols + c.pad_a;
  o.ldb = b_cols + c.pad_b;
  o.ldc = c.n + c.pad_c;
  o.a = random_array(std::size_t(a_rows * o.lda), seed);
  o.b = random_array(std::size_t(b_rows * o.ldb), seed + 1);
  o.c0 = random_array(std::size_t(c.m * o.ldc), seed + 2);
  return o;
}

Array run(backend::Backend& be, const Case& c, const Operands& o, const Array& c_init) {
  Array out = c_init;
  be.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, c.beta,
          out.data(), o.ldc);
  return out;
}

void check_case(const Case& c, unsigned seed) {
  INFO(describe(c));
  const Operands o = make_operands(c, seed);
  Array c_init = o.c0;
  // With beta = 0 the old C must not leak into the result, not even a NaN.
  if (c.beta == real(0))
    for (Index i = 0; i < c.m; ++i)
      for (Index j = 0; j < c.n; ++j) c_init[std::size_t(i * o.ldc + j)] = std::numeric_limits<real>::quiet_NaN();

  const Array got = run(backend::default_cpu(), c, o, c_init);
  const Array want = run(backend::reference(), c, o, c_init);

  // |alpha| |op(A)| |op(B)| + |beta| |C0| per element, for the error bound.
  Operands abs_o = o;
  for (auto& v : abs_o.a) v = std::abs(v);
  for (auto& v : abs_o.b) v = std::abs(v);
  Case abs_c = c;
  abs_c.alpha = std::abs(c.alpha);
  abs_c.beta = 0;
  const Array mag = run(backend::reference(), abs_c, abs_o, Array(o.c0.size(), 0));

  for (Index i = 0; i < c.m; ++i) {
    for (Index j = 0; j < o.ldc; ++j) {
      const std::size_t at = std::size_t(i * o.ldc + j);
      if (j >= c.n) {  // the gap between n and ldc is never touched
        REQUIRE_MESSAGE(std::memcmp(&got[at], &c_init[at], sizeof(real)) == 0,
                        "C[" << i << "," << j << "] beyond n was written");
        continue;
      }
      const double bound = double(mag[at]) + (c.beta == real(0) ? 0.0 : std::abs(double(c.beta) * c_init[at]));
      const double tol = 2.0 * double(c.k + 2) * kEps * bound + 1e-30;
      const double d = std::abs(double(got[at]) - double(want[at]));
      if (!(d <= tol))
        FAIL("C[" << i << "," << j << "] = " << got[at] << ", reference " << want[at]
                  << " (|diff| " << d << " > " << tol << ")");
    }
  }
}

}  // namespace

TEST_CASE("gemm matches the reference: all transposes, edges, alpha/beta, leading dims") {
  const Index shapes[][3] = {{1, 1, 1},   {7, 13, 5},   {2, 3, 1},    {1, 40, 17},   {33, 1, 40},
                             {15, 17, 16}, {6, 16, 256}, {14, 32, 257}, {29, 31, 300}, {65, 97, 513},
                             {130, 70, 33},
                             // skinny C (n <= 8: gates, towers): the dot-product and
                             // transposed roads
                             {100, 1, 64},  {300, 4, 256}, {77, 8, 77},   {50, 5, 3},
                             {9, 7, 1000},  {40, 2, 17},   {1000, 3, 1}};
  const real alphas[] = {1, real(-0.75)};
  const real betas[] = {0, 1, real(0.5)};
  unsigned seed = 1;
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (real alpha : alphas)
        for (real beta : betas) {
          const Index pad = (seed % 3 == 0) ? 0 : Index(seed % 5);
          check_case({bool(t & 1), bool(t & 2), s[0], s[1], s[2], pad, (pad + 2) % 4, pad % 2,
                      alpha, beta},
                     seed++);
        }
}

TEST_CASE("gemm matches the reference at the model's shapes") {
  // m x n x k of the expert layers: forward x@W, dX = dT W^T, dW = X^T dT.
  check_case({false, false, 4096, 64, 256, 0, 0, 0, 1, 0}, 101);
  check_case({false, false, 1000, 576, 256, 0, 0, 0, 1, 0}, 102);
  check_case({false, false, 777, 512, 113, 0, 0, 0, 1, 1}, 103);
  check_case({false, true, 4096, 256, 64, 0, 0, 0, 1, 1}, 104);
  check_case({true, false, 256, 64, 4096, 0, 0, 0, 1, 1}, 105);
  check_case({true, false, 113, 512, 1500, 0, 0, 0, 1, 1}, 106);
  check_case({true, true, 64, 200, 999, 3, 1, 2, real(0.5), real(0.25)}, 107);
  // gates ([B,256] @ [256,4] and its weight gradient) and towers ([B,64] @ [64,1])
  // Inference slices (m3oe/infer.hpp): few rows, B read in place, not packed.
  check_case({false, false, 43, 576, 256, 0, 0, 0, 1, 0}, 112);
  check_case({false, false, 150, 512, 113, 2, 3, 1, 1, 1}, 113);
  check_case({false, false, 192, 300, 600, 0, 5, 0, real(0.5), real(0.25)}, 114);
  check_case({false, false, 4096, 4, 256, 0, 0, 0, 1, 0}, 108);
  check_case({true, false, 256, 4, 4096, 0, 0, 0, 1, 1}, 109);
  check_case({false, false, 4096, 1, 64, 0, 0, 0, 1, 0}, 110);
  check_case({true, false, 64, 1, 4096, 0, 0, 0, 1, 1}, 111);
}

TEST_CASE("gemm with k = 0 or alpha = 0 only scales C") {
  for (real beta : {real(0), real(1), real(-2)}) {
    check_case({false, false, 9, 11, 0, 0, 0, 2, 1, beta}, 201);
    check_case({true, true, 9, 11, 5, 1, 0, 0, 0, beta}, 202);
  }
}

TEST_CASE("gemm gives the same bits for 1, 2 and 3 threads") {
  const Case cases[] = {{false, false, 4096, 64, 256, 0, 0, 0, 1, 0},
                        {false, false, 1031, 577, 300, 1, 2, 3, 1, 1},
                        {false, true, 2000, 256, 64, 0, 0, 0, 1, 1},
                        {true, false, 256, 64, 5000, 0, 0, 0, 1, 1},
                        {true, true, 45, 130, 700, 0, 0, 0, real(0.5), real(0.5)},
                        {false, false, 20, 1000, 600, 0, 0, 0, 1, 0},
                        {false, false, 5000, 4, 256, 0, 0, 0, 1, 0},
                        {true, false, 256, 4, 5000, 0, 0, 0, 1, 1},
                        {false, true, 3000, 1, 64, 0, 0, 0, 1, 1},
                        {true, false, 13, 19, 17, 0, 0, 0, 1, 0}};  // tiny: through Eigen
  unsigned seed = 300;
  for (const Case& c : cases) {
    INFO(describe(c));
    const Operands o = make_operands(c, seed++);
    set_num_threads(1);
    const Array one = run(backend::default_cpu(), c, o, o.c0);
    set_num_threads(2);
    const Array two = run(backend::default_cpu(), c, o, o.c0);
    set_num_threads(3);
    const Array three = run(backend::default_cpu(), c, o, o.c0);
    set_num_threads(0);
    require_same_bits(one, two, "1 vs 2 threads");
    require_same_bits(one, three, "1 vs 3 threads");
  }
}

namespace {
backend::GemmCall call_of(const Case& c, const Operands& o, Array& out) {
  return {c.ta, c.tb, c.m, c.n, c.k, c.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, c.beta,
          out.data(), o.ldc};
}
}  // namespace

TEST_CASE("gemm_pair gives the bits of two gemm calls, on any number of threads") {
  // A layer's dX = dY W^T and dW = X^T dY (700 rows, 113 -> 256: side by
  // side from 2 threads on), a pair with one product below the side-by-side
  // threshold (one after the other), and two unrelated shapes.
  const Case pairs[][2] = {
      {{false, true, 700, 113, 256, 0, 0, 0, 1, 0}, {true, false, 113, 256, 700, 0, 0, 0, 1, 1}},
      {{false, true, 700, 4, 64, 0, 0, 0, 1, 0}, {true, false, 64, 256, 700, 0, 0, 0, 1, 1}},
      {{false, false, 1031, 577, 300, 1, 2, 3, 1, 1}, {true, true, 45, 130, 700, 0, 0, 0, 2, 0}}};
  unsigned seed = 500;
  for (const auto& pair : pairs) {
    INFO(describe(pair[0]) << " | " << describe(pair[1]));
    const Operands o1 = make_operands(pair[0], seed++), o2 = make_operands(pair[1], seed++);
    set_num_threads(1);
    const Array want1 = run(backend::default_cpu(), pair[0], o1, o1.c0);
    const Array want2 = run(backend::default_cpu(), pair[1], o2, o2.c0);
    for (int threads : {1, 2, 3, 4}) {
      INFO(threads << " threads");
      set_num_threads(threads);
      Array got1 = o1.c0, got2 = o2.c0;
      backend::default_cpu().gemm_pair(call_of(pair[0], o1, got1), call_of(pair[1], o2, got2));
      require_same_bits(want1, got1, "first product");
      require_same_bits(want2, got2, "second product");
    }
    set_num_threads(0);
  }
}

TEST_CASE("run_side_by_side runs both halves, each with its share of the threads") {
  for (int threads : {1, 2, 3, 5}) {
    INFO(threads << " threads");
    int first_threads = 0, second_threads = 0, calls = 0;
    run_side_by_side(
        threads,
        [&] {
          first_threads = num_threads();
          ++calls;
        },
        [&] {
          second_threads = num_threads();
          ++calls;
        });
    CHECK(calls == 2);
    if (has_openmp() && threads >= 2) {
      CHECK(first_threads == threads / 2);
      CHECK(second_threads == threads - threads / 2);
    } else {
      CHECK(first_threads == num_threads());
      CHECK(second_threads == num_threads());
    }
  }
  CHECK(num_threads() >= 1);  // the shares end with their scope
}

TEST_CASE("set_num_threads / num_threads") {
  set_num_threads(3);
  CHECK(num_threads() == (has_openmp() ? 3 : 1));
  set_num_threads(0);
  CHECK(num_threads() >= 1);
  set_num_threads(-5);
  CHECK(num_threads() >= 1);
}

TEST_CASE("keep_freed_memory takes effect where glibc owns the heap") {
  // It once tested __GLIBC__ before including any C header, so it compiled
  // to nothing and every large temporary was mmap'd and faulted in afresh.
  // Under a sanitizer its allocator owns the heap and mallopt does nothing.
#if defined(__GLIBC__) && !M3OE_SANITIZER_HEAP
  CHECK(keep_freed_memory());
#else
  CHECK_FALSE(keep_freed_memory());
#endif
}
