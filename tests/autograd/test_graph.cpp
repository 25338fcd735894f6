// The graph machinery of autograd/node.hpp, on the float build: gradient
// accumulation, no_grad, detach, graph release, retain_graph, deep graphs and
// the error messages of bad calls.
#include "autograd/backend/threads.hpp"
#include "autograd/ops.hpp"
#include "test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace m3oe;
using m3oe::testing::error_of;
using m3oe::testing::mat;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a node used several times gets the sum of its paths") {
  // y = x * x + x: dy/dx = 2x + 1; x reaches the sum by three edges.
  Var x(mat(1, 3, {1.5f, -2.0f, 0.25f}), true);
  sum(add(mul(x, x), x)).backward();
  CHECK(x.grad().isApprox(mat(1, 3, {4.0f, -3.0f, 1.5f})));

  // Diamond: b = 2a and c = exp(a) both feed d = b * c, so
  // dd/da = 2 exp(a) + 2a exp(a).
  Var a(mat(1, 2, {0.5f, -1.0f}), true);
  Var b = mul_scalar(a, 2);
  Var c = exp(a);
  sum(mul(b, c)).backward();
  const Tensor expected = (2 * a.value().array().exp() * (1 + a.value().array())).matrix();
  CHECK(a.grad().isApprox(expected, 1e-6f));
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  Var x(mat(2, 2, {1, 2, 3, 4}), true);
  const Tensor w = mat(2, 2, {0.5f, -1, 2, 0});
  Var wv(w);
  sum(mul(x, wv)).backward();
  CHECK(x.grad() == w);
  sum(mul(x, wv)).backward();  // a second, separate graph
  CHECK(x.grad() == Tensor(2 * w));
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  CHECK(x.grad() == Tensor::Zero(2, 2));
  sum(mul(x, wv)).backward();
  CHECK(x.grad() == w);
  // The constant w never requires, and so never receives, a gradient.
  CHECK_FALSE(wv.requires_grad());
  CHECK_FALSE(wv.has_grad());
}

TEST_CASE("no_grad records no graph") {
  Var x(mat(1, 2, {1, 2}), true);
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      CHECK_FALSE(grad_enabled());
    }
    CHECK_FALSE(grad_enabled());  // the inner guard restores the outer state
    Var y = mul(x, x);
    CHECK(y.value() == mat(1, 2, {1, 4}));
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node()->inputs.empty());
    CHECK_FALSE(static_cast<bool>(y.node()->backward_fn));
    CHECK(contains(error_of([&] { sum(y).backward(); }), "does not require grad"));
  }
  CHECK(grad_enabled());
  CHECK(mul(x, x).requires_grad());
}

TEST_CASE("detach cuts the graph and copies the value") {
  Var x(mat(1, 3, {1, 2, 3}), true);
  Var d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.value() == x.value());
  CHECK(d.node() != x.node());
  // y = detach(x) * x: only the second factor carries a gradient.
  sum(mul(d, x)).backward();
  CHECK(x.grad() == x.value());
  // The detached value is a copy: changing it leaves x alone.
  d.value()(0, 0) = 100;
  CHECK(x.value()(0, 0) == 1);
}

TEST_CASE("backward releases the graph; a second walk throws with the retain_graph hint") {
  Var x(mat(1, 2, {1, 2}), true);
  Var m = mul(x, x);
  Var y = sum(m);
  y.backward();
  CHECK(x.grad() == mat(1, 2, {2, 4}));
  // Intermediate nodes dropped their edges, closures and gradients.
  CHECK(m.node()->released);
  CHECK(m.node()->inputs.empty());
  CHECK_FALSE(static_cast<bool>(m.node()->backward_fn));
  CHECK_FALSE(m.has_grad());
  CHECK(y.node()->inputs.empty());
  // The leaf keeps its gradient and stays a leaf.
  CHECK(x.node()->is_leaf());

  const std::string again = error_of([&] { y.backward(); });
  CHECK(contains(again, "released graph"));
  CHECK(contains(again, "retain_graph=true"));
  CHECK(contains(again, "'sum'"));
  // A new op on top of a released node cannot walk through it either.
  const std::string through = error_of([&] { sum(m).backward(); });
  CHECK(contains(through, "op 'mul'"));
  CHECK(contains(through, "retain_graph=true"));
}

TEST_CASE("retain_graph allows a second backward, which doubles the gradients") {
  Var x(mat(1, 2, {1, 2}), true);
  Var w(mat(1, 2, {3, -1}), true);
  Var m = mul(x, w);
  Var y = sum(m);
  y.backward(/*retain_graph=*/true);
  CHECK_FALSE(m.node()->released);
  CHECK(x.grad() == w.value());
  y.backward();
  CHECK(x.grad() == Tensor(2 * w.value()));
  CHECK(w.grad() == Tensor(2 * x.value()));
  CHECK(m.node()->released);
}

TEST_CASE("backward without a seed needs a [1,1] result") {
  Var x(mat(2, 3, {1, 2, 3, 4, 5, 6}), true);
  Var y = mul_scalar(x, 2);
  const std::string msg = error_of([&] { y.backward(); });
  CHECK(contains(msg, "[1,1]"));
  CHECK(contains(msg, "[2,3]"));
  CHECK(contains(msg, "mul_scalar"));
  // With a seed of the right shape it works; a wrong seed is refused.
  CHECK(contains(error_of([&] { y.backward(Tensor::Ones(3, 2)); }), "seed [3,2]"));
  y.backward(Tensor::Ones(2, 3));
  CHECK(x.grad() == Tensor::Constant(2, 3, 2));
}

TEST_CASE("a chain of 100k ops walks backward without overflowing the stack") {
  Var x(mat(1, 1, {0.5f}), true);
  Var v = x;
  for (int i = 0; i < 100000; ++i) v = add_scalar(v, real(1e-5));
  v.backward();
  CHECK(x.grad()(0, 0) == 1);
  CHECK(v.item() == doctest::Approx(1.5).epsilon(1e-3));
}

TEST_CASE("a never-walked chain of 100k ops is destroyed without overflowing the stack") {
  Var x(mat(1, 1, {0.5f}), true);
  {
    Var v = x;
    for (int i = 0; i < 100000; ++i) v = add_scalar(v, real(1e-5));
    CHECK(v.requires_grad());
  }  // dropping the last handle frees 100k nodes
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("shape errors name the op and the shapes") {
  Var a(Tensor::Ones(2, 3), true);
  Var b(Tensor::Ones(3, 2), true);
  std::string msg = error_of([&] { add(a, b); });
  CHECK(contains(msg, "add"));
  CHECK(contains(msg, "[2,3]"));
  CHECK(contains(msg, "[3,2]"));
  CHECK(contains(error_of([&] { div(a, Var(Tensor::Ones(2, 2))); }), "div: shapes [2,3] and [2,2]"));
  CHECK(contains(error_of([&] { matmul(a, a); }), "matmul: inner dimensions differ, [2,3] @ [2,3]"));
  CHECK(contains(error_of([&] { scale(a, b); }), "scale: the factor must be [1,1], got [3,2]"));
  CHECK(contains(error_of([&] { linear(a, b, Var(Tensor::Ones(1, 3))); }),
                 "linear: bias is [1,3], expected [1,2]"));
  CHECK(contains(error_of([&] { concat_cols({a, b}); }), "concat_cols: part 1 is [3,2]"));
  CHECK(contains(error_of([&] { slice_cols(a, 2, 2); }), "slice_cols: columns [2,4)"));
  CHECK(contains(error_of([&] { layer_norm(a, Var(Tensor::Ones(1, 2)), Var(Tensor::Ones(1, 3))); }),
                 "layer_norm: gamma and beta must be [1,3]"));
  CHECK(contains(error_of([&] { bce(sigmoid(a), Tensor::Ones(3, 2)); }),
                 "bce: p is [2,3] but the labels y are [3,2]"));
  CHECK(contains(error_of([&] { bce_with_logits(a, Tensor::Ones(2, 2)); }),
                 "bce_with_logits: z is [2,3]"));
  CHECK(contains(error_of([&] { mean(Var(Tensor(0, 3))); }), "mean: mean over an empty"));
}

TEST_CASE("bad indices and values are reported with their position") {
  Var table(Tensor::Ones(5, 2), true);
  const std::string msg = error_of([&] { embedding(table, {0, 4, 7}); });
  CHECK(contains(msg, "embedding: id 7 at position 2"));
  CHECK(contains(msg, "the table has 5 rows"));
  CHECK(contains(error_of([&] { embedding(table, {-1}); }), "id -1 at position 0"));
  CHECK(contains(error_of([&] { gather_rows(table, {5}); }), "gather_rows: row 5"));
  CHECK(contains(error_of([&] { scatter_rows(table, {0, 1, 2, 3, 9}, 6); }),
                 "scatter_rows: row 9 at position 4 is out of range: the output has 6 rows"));
  CHECK(contains(error_of([&] { scatter_rows(table, {0, 1}, 6); }),
                 "scatter_rows: 2 row indices for x [5,2]"));
  // bce is defined on probabilities only.
  const std::string p_msg = error_of([&] { bce(Var(mat(1, 3, {0.5f, 1.5f, 0.2f})), Tensor::Ones(1, 3)); });
  CHECK(contains(p_msg, "bce: p(0,1) = 1.5"));
  CHECK(contains(p_msg, "not a probability"));
  const real nan = std::numeric_limits<real>::quiet_NaN();
  CHECK(contains(error_of([&] { bce(Var(mat(2, 1, {0.5f, nan})), Tensor::Ones(2, 1)); }),
                 "bce: p(1,0) = nan"));
}

TEST_CASE("float build: a small expression has the right value and gradient") {
  // The float library computes the same ops; spot check one composite
  // (the double build's gradient check covers each op precisely).
  Var x(mat(2, 2, {0.1f, -0.2f, 0.3f, 0.4f}), true);
  Var w(mat(2, 1, {0.5f, -0.5f}), true);
  Var l = bce(sigmoid(matmul(x, w)), mat(2, 1, {1, 0}));
  l.backward();
  // d l / d w = x^T (sigmoid(xw) - y) / 2.
  const Tensor z = x.value() * w.value();
  const Tensor p = (1 + (-z.array()).exp()).inverse().matrix();
  const Tensor dw = x.value().transpose() * (p - mat(2, 1, {1, 0})) / 2;
  CHECK(w.grad().isApprox(dw, 1e-5f));
}

TEST_CASE("a new gradient is written by its first producer, an existing one added to") {
  // Node::grad_out: the first call creates the gradient unzeroed and says
  // overwrite; later calls return the same tensor for accumulation.
  Var leaf(mat(2, 3, {1, 2, 3, 4, 5, 6}), true);
  const GradOut first = leaf.node()->grad_out();
  REQUIRE(first);
  CHECK(first.overwrite);
  CHECK(first->rows() == 2);
  CHECK(first->cols() == 3);
  const GradOut second = leaf.node()->grad_out();
  CHECK_FALSE(second.overwrite);
  CHECK(second.t == first.t);
  Var constant(mat(1, 1, {1}));
  CHECK_FALSE(constant.node()->grad_out());

  // A large product (the packed GEMM, not the tiny-product path): the
  // gradient of a fresh leaf equals one written from zero, and a second
  // backward without zero_grad doubles it.
  Tensor xv(48, 40), wv(40, 36);
  for (Index i = 0; i < xv.size(); ++i) xv.data()[i] = real((i * 37) % 11) / 11 - real(0.5);
  for (Index i = 0; i < wv.size(); ++i) wv.data()[i] = real((i * 13) % 7) / 7 - real(0.5);
  Var x(xv, true), w(wv, true);
  sum(matmul(x, w)).backward();
  const Tensor ones = Tensor::Ones(48, 36);
  const Tensor dx = ones * wv.transpose(), dw = xv.transpose() * ones;
  CHECK(x.grad().isApprox(dx, 1e-5f));
  CHECK(w.grad().isApprox(dw, 1e-5f));
  sum(matmul(x, w)).backward();
  CHECK(x.grad().isApprox(Tensor(2 * dx), 1e-5f));
  CHECK(w.grad().isApprox(Tensor(2 * dw), 1e-5f));
}

TEST_CASE("an op that reads one node twice adds both of its gradient parts") {
  // C = X X with L = sum(C): dL/dX = 1 X^T + X^T 1. Were the first part
  // written over by the second, only X^T 1 would remain.
  Tensor xv(24, 24);
  for (Index i = 0; i < xv.size(); ++i) xv.data()[i] = real((i * 29) % 17) / 17 - real(0.5);
  Var x(xv, true);
  sum(matmul(x, x)).backward();
  const Tensor ones = Tensor::Ones(24, 24);
  CHECK(x.grad().isApprox(Tensor(ones * xv.transpose() + xv.transpose() * ones), 1e-5f));

  // The same with products large enough to run side by side on 2 threads
  // (Backend::gemm_pair): both parts go into one gradient, so they must run
  // one after the other, never at the same time.
  set_num_threads(2);
  Tensor bv(160, 160);
  for (Index i = 0; i < bv.size(); ++i) bv.data()[i] = real((i * 31) % 23) / 23 - real(0.5);
  Var big(bv, true);
  sum(matmul(big, big)).backward();
  const Tensor big_ones = Tensor::Ones(160, 160);
  CHECK(big.grad().isApprox(Tensor(big_ones * bv.transpose() + bv.transpose() * big_ones), 1e-5f));
  set_num_threads(0);

  // mix_experts(x, x) with blocks of one column: out[b] = sum_g x[b,g]^2, so
  // dx = 2x, half through the experts input and half through the coefficients.
  Var y(mat(2, 3, {1, -2, 3, 0.5f, 0.25f, -1}), true);
  sum(mix_experts(y, y, Var())).backward();
  CHECK(y.grad().isApprox(Tensor(2 * y.value()), 1e-6f));

  // The choice is per input (Node::input_grad_out): in concat_cols({a, b, a})
  // the repeated a accumulates, the single b is still written whole.
  Var a(mat(2, 1, {1, 2}), true), b(mat(2, 2, {3, 4, 5, 6}), true);
  Var c = concat_cols({a, b, a});
  CHECK_FALSE(c.node()->input_grad_out(0).overwrite);
  CHECK_FALSE(c.node()->input_grad_out(2).overwrite);
  CHECK(c.node()->input_grad_out(1).overwrite);
  a.zero_grad();
  b.zero_grad();
  Var weights(mat(1, 4, {1, 10, 100, 1000}));
  sum(mul(c, weights)).backward();  // dc = each column's weight, in every row
  CHECK(a.grad().isApprox(mat(2, 1, {1001, 1001})));
  CHECK(b.grad().isApprox(mat(2, 2, {10, 100, 10, 100})));
}

namespace {
// Values in [-0.5, 0.5) from a simple pattern, so no test needs an RNG.
Tensor pattern(Index r, Index c, int seed) {
  Tensor t(r, c);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = real((i * 37 + seed * 11) % 101) / 101 - real(0.5);
  return t;
}

struct ThreadedRun {
  Tensor out;
  std::vector<Tensor> grads;
};

// A graph of the ops that spread large tensors over the threads (row copies,
// elementwise, bias add and column sums), forward and backward, on `threads`.
ThreadedRun threaded_ops(int threads) {
  set_num_threads(threads);
  const Index n = 700, k = 64;  // 44,800 values: above the parallel threshold
  Var x(pattern(n, k, 1), true), y(pattern(n, k, 2), true), row(pattern(1, k, 3), true);
  Var w(pattern(k, k, 4), true), b(pattern(1, k, 5), true);
  IndexList reversed(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) reversed[std::size_t(i)] = n - 1 - i;
  const Var h = add(mul(x, y), row);                       // full * full, + row broadcast
  const Var g = gather_rows(sub(h, x), reversed);          // full - full, then a row copy
  const Var c = concat_cols({g, linear(y, w, b)});         // bias add and its column sums
  const Var s = scatter_rows(mul(c, c), reversed, n);      // full * full (one node twice)
  const Var out = div(s, add_scalar(mul(s, s), real(2)));  // full / full
  sum(out).backward();
  set_num_threads(0);
  return {out.value(), {x.grad(), y.grad(), row.grad(), w.grad(), b.grad()}};
}
}  // namespace

TEST_CASE("ops over large tensors give the same bits on 1 and 2 threads") {
  const ThreadedRun one = threaded_ops(1), two = threaded_ops(2);
  CHECK((one.out.array() == two.out.array()).all());
  REQUIRE(one.grads.size() == two.grads.size());
  for (std::size_t i = 0; i < one.grads.size(); ++i) {
    INFO("gradient " << i);
    CHECK(one.grads[i].allFinite());
    CHECK((one.grads[i].array() == two.grads[i].array()).all());
  }
  // The bias gradient is the column sums of the output's gradient in a fixed
  // order: each piece of 256 rows row after row, then the pieces in order
  // (autograd/ops/matmul.cpp, column_sums). Exactly those bits, wherever its
  // scratch memory lies (Eigen's colwise().sum() orders a column's terms by
  // the destination's alignment, which made results change from run to run).
  const Index n = 700, k = 64;
  Var y(pattern(n, k, 2)), w(pattern(k, k, 4)), b(pattern(1, k, 5), true);
  const Var lin = linear(y, w, b);
  const Tensor g = pattern(n, k, 6);  // the output's gradient: the seed
  lin.backward(g);
  Tensor expected = Tensor::Zero(1, k);
  for (Index r0 = 0; r0 < n; r0 += 256) {
    Tensor piece = Tensor::Zero(1, k);
    for (Index r = r0; r < std::min(n, r0 + 256); ++r)
      for (Index j = 0; j < k; ++j) piece(0, j) += g(r, j);
    for (Index j = 0; j < k; ++j) expected(0, j) += piece(0, j);
  }
  CHECK((b.grad().array() == expected.array()).all());
}
