// The tools around the graph, on the float build: printing (print.hpp), the
// Graphviz dump (graph_dot.hpp), the operators on Var (operators.hpp) and the
// gradient checker with its float defaults (gradcheck.hpp).
#include "autograd/gradcheck.hpp"
#include "autograd/graph_dot.hpp"
#include "autograd/ops.hpp"
#include "test_util.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

using namespace m3oe;
using m3oe::testing::mat;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Tensor ramp(Index r, Index c, real scale) {
  Tensor t(r, c);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = scale * real(i % 7 - 3) + real(0.25);
  return t;
}

}  // namespace

// ---- printing -----------------------------------------------------------------

TEST_CASE("to_string prints a tensor like PyTorch: aligned, four decimals, the shape") {
  CHECK(to_string(mat(2, 2, {0.1192f, -0.8808f, 0.5f, 0.2689f})) ==
        "tensor([[ 0.1192, -0.8808],\n"
        "        [ 0.5000,  0.2689]], shape=[2,2])");
  CHECK(to_string(mat(1, 3, {1, -2, 30})) == "tensor([[ 1., -2., 30.]], shape=[1,3])");
  // Magnitudes spanning more than 1000x switch to scientific notation.
  CHECK(to_string(mat(1, 2, {1e-5f, 2})) == "tensor([[1.0000e-05, 2.0000e+00]], shape=[1,2])");
  CHECK(to_string(Tensor(0, 3)) == "tensor([], shape=[0,3])");
}

TEST_CASE("a tensor of more than 1000 entries is summarised with 3 edge items") {
  Tensor big(40, 30);
  for (Index i = 0; i < big.rows(); ++i)
    for (Index j = 0; j < big.cols(); ++j) big(i, j) = real(i * 100 + j);
  const std::string s = to_string(big);
  INFO(s);
  CHECK(s.rfind("tensor([[   0.,    1.,    2., ...,   27.,   28.,   29.],\n", 0) == 0);
  CHECK(contains(s, "\n        ...,\n        [3700., 3701., 3702., ..., 3727., 3728., 3729.],"));
  CHECK(contains(s, "[3900., 3901., 3902., ..., 3927., 3928., 3929.]], shape=[40,30])"));
  CHECK(std::count(s.begin(), s.end(), '\n') == 6);  // 3 + 3 rows and the "..." line
  // At the threshold, everything is shown.
  PrintOptions all;
  all.threshold = big.size();
  CHECK_FALSE(contains(to_string(big, all), "..."));
}

TEST_CASE("operator<< prints a Var with requires_grad, grad_fn and its name") {
  Var w(mat(1, 2, {0.5f, -1.5f}), true);
  std::ostringstream s;
  s << w;
  CHECK(s.str() == "tensor([[ 0.5000, -1.5000]], shape=[1,2], requires_grad=True)");
  w.set_name("fc.weight");
  CHECK(to_string(w) == "tensor([[ 0.5000, -1.5000]], shape=[1,2], requires_grad=True, name='fc.weight')");
  const Var y = relu(w);
  CHECK(to_string(y) == "tensor([[0.5000, 0.0000]], shape=[1,2], grad_fn=relu)");
  CHECK(to_string(Var(mat(1, 1, {2}))) == "tensor([[2.]], shape=[1,1])");  // a constant
  {
    NoGradGuard g;
    CHECK(to_string(relu(w)) == "tensor([[0.5000, 0.0000]], shape=[1,2])");  // no graph
  }
  CHECK(to_string(Var()) == "Var(undefined)");
}

// ---- the Graphviz dump --------------------------------------------------------

TEST_CASE("write_dot shows ops, shapes, names, edges and what needs gradients") {
  Var x(mat(2, 3, {1, 2, 3, 4, 5, 6}));  // a constant input
  Var w(Tensor::Constant(3, 4, real(0.1)), true);
  Var b(Tensor::Zero(1, 4), true);
  w.set_name("fc.weight");
  b.set_name("fc.bias");
  const Var loss = sum(tanh(linear(x, w, b)));
  const std::string dot = to_dot(loss);
  INFO(dot);
  CHECK(dot.rfind("digraph \"m3oe\" {\n", 0) == 0);
  // Visit order from the root: sum, tanh, linear, then linear's inputs x, w, b.
  CHECK(contains(dot, "n0 [label=\"sum\\n[1,1]\", style=filled, fillcolor=lightyellow, peripheries=2];"));
  CHECK(contains(dot, "n1 [label=\"tanh\\n[2,4]\", style=filled, fillcolor=lightyellow];"));
  CHECK(contains(dot, "n2 [label=\"linear\\n[2,4]\""));
  CHECK(contains(dot, "n3 [label=\"leaf\\n[2,3]\", style=\"filled,dashed\", fillcolor=white];"));
  CHECK(contains(dot, "n4 [label=\"fc.weight\\n[3,4]\", style=filled, fillcolor=lightblue];"));
  CHECK(contains(dot, "n5 [label=\"fc.bias\\n[1,4]\""));
  CHECK(contains(dot, "n1 -> n0;"));
  CHECK(contains(dot, "n2 -> n1;"));
  CHECK(contains(dot, "n3 -> n2 [label=\"0\"];"));
  CHECK(contains(dot, "n4 -> n2 [label=\"1\"];"));
  CHECK(contains(dot, "n5 -> n2 [label=\"2\"];"));
  CHECK(std::count(dot.begin(), dot.end(), '>') == 5);  // five edges
  CHECK(dot.substr(dot.size() - 2) == "}\n");

  // After backward with retain_graph: the same graph, leaves marked with their gradient.
  loss.backward(/*retain_graph=*/true);
  const std::string after = to_dot(loss);
  CHECK(contains(after, "n4 [label=\"fc.weight\\n[3,4]\\ngrad\""));
  CHECK(contains(after, "n3 -> n2 [label=\"0\"];"));
  // After a plain backward the graph is released: only the root is left, and says so.
  loss.backward();
  const std::string released = to_dot(loss);
  CHECK(contains(released, "n0 [label=\"sum\\n[1,1]\\n(released)\""));
  CHECK_FALSE(contains(released, "->"));
}

TEST_CASE("write_dot: a node read twice is one node, options, deep graphs") {
  Var x(Tensor::Ones(2, 2), true);
  const std::string dot = to_dot(mul(x, x));
  CHECK(contains(dot, "n1 -> n0 [label=\"0\"];"));
  CHECK(contains(dot, "n1 -> n0 [label=\"1\"];"));
  CHECK_FALSE(contains(dot, "n2"));

  DotOptions lr;
  lr.left_to_right = true;
  lr.graph_name = "my \"graph\"";
  const std::string d2 = to_dot(mul(x, x), lr);
  CHECK(contains(d2, "digraph \"my \\\"graph\\\"\" {"));
  CHECK(contains(d2, "rankdir=LR;"));

  // A chain of 100,000 ops: no recursion, every node written (or cut at max_nodes).
  Var y = x;
  for (int i = 0; i < 100000; ++i) y = add_scalar(y, 1);
  const std::string deep = to_dot(y);
  CHECK(contains(deep, "n100000 [label=\"leaf\\n[2,2]\""));
  DotOptions few;
  few.max_nodes = 10;
  const std::string cut = to_dot(y, few);
  CHECK(contains(cut, "n9 [label="));
  CHECK_FALSE(contains(cut, "n10 [label="));
  CHECK(contains(cut, "... 99991 more nodes not shown (max_nodes)"));
}

// ---- operators ----------------------------------------------------------------

TEST_CASE("the operators on Var give the named ops' values and gradients") {
  const Tensor av = mat(2, 3, {0.5f, -1, 2, 1.5f, -0.25f, 3});
  const Tensor bv = mat(1, 3, {2, -0.5f, 1.25f});  // a row: broadcasts
  using Expr = std::function<Var(const Var&, const Var&)>;
  const std::vector<std::pair<Expr, Expr>> pairs = {
      {[](const Var& a, const Var& b) { return a + b; }, [](const Var& a, const Var& b) { return add(a, b); }},
      {[](const Var& a, const Var& b) { return a - b; }, [](const Var& a, const Var& b) { return sub(a, b); }},
      {[](const Var& a, const Var& b) { return a * b; }, [](const Var& a, const Var& b) { return mul(a, b); }},
      {[](const Var& a, const Var& b) { return a / b; }, [](const Var& a, const Var& b) { return div(a, b); }},
      {[](const Var& a, const Var&) { return -a; }, [](const Var& a, const Var&) { return mul_scalar(a, -1); }},
      {[](const Var& a, const Var&) { return a + 2.0; }, [](const Var& a, const Var&) { return add_scalar(a, 2); }},
      {[](const Var& a, const Var&) { return 2.0 + a; }, [](const Var& a, const Var&) { return add_scalar(a, 2); }},
      {[](const Var& a, const Var&) { return a - 2.0; }, [](const Var& a, const Var&) { return add_scalar(a, -2); }},
      {[](const Var& a, const Var&) { return 1.0 - a; },
       [](const Var& a, const Var&) { return add_scalar(mul_scalar(a, -1), 1); }},
      {[](const Var& a, const Var&) { return 2.0 * a; }, [](const Var& a, const Var&) { return mul_scalar(a, 2); }},
      {[](const Var& a, const Var&) { return a * 2.0; }, [](const Var& a, const Var&) { return mul_scalar(a, 2); }},
      {[](const Var& a, const Var&) { return a / 4.0; }, [](const Var& a, const Var&) { return mul_scalar(a, 0.25); }},
      {[](const Var& a, const Var&) { return 3.0 / a; },
       [](const Var& a, const Var&) { return mul_scalar(reciprocal(a), 3); }},
      {[](const Var& a, const Var& b) { return 1.0 - sigmoid(a * b + 0.5) / 3.0; },
       [](const Var& a, const Var& b) {
         return add_scalar(mul_scalar(mul_scalar(sigmoid(add_scalar(mul(a, b), 0.5)), 1.0f / 3), -1), 1);
       }},
  };
  const Tensor seed = mat(2, 3, {1, -2, 0.5f, 0.25f, 3, -1});
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    CAPTURE(k);
    Var a1(av, true), b1(bv, true), a2(av, true), b2(bv, true);
    const Var y1 = pairs[k].first(a1, b1);
    const Var y2 = pairs[k].second(a2, b2);
    CHECK(y1.value() == y2.value());
    CHECK(std::string(y1.op()) == y2.op());
    y1.backward(seed);
    y2.backward(seed);
    CHECK(a1.grad() == a2.grad());
    CHECK(b1.grad() == b2.grad());
  }
  // A number on either side is a constant; ints work too.
  Var a(av, true);
  CHECK((a + 1).value() == (a + 1.0).value());
  CHECK((3.0 / a).value().isApprox(Tensor(3 / av.array())));
}

// ---- the gradient checker in the float build ----------------------------------

TEST_CASE("gradcheck in float: loose defaults pass right backwards and catch wrong ones") {
  CHECK(kGradcheckStep == doctest::Approx(1e-3));
  CHECK(kGradcheckTolerance == doctest::Approx(1e-2));
  Var x(ramp(3, 4, 0.2f), true);
  Var w(ramp(4, 2, 0.3f), true);
  const GradcheckResult r =
      gradcheck([](const std::vector<Var>& v) { return tanh(matmul(v[0], v[1])) * 2.0 + v[0].cols(); },
                {x, w});
  CHECK_MESSAGE(r.passed, r.report());
  CHECK(r.checked == 20);
  // A wrong factor (y = x^2 sent back as 3x) does not pass even at these tolerances.
  const GradcheckResult bad = gradcheck(
      [](const std::vector<Var>& v) {
        return make_result(v[0].value().array().square(), "square_3x", {v[0]}, [](Node& self) {
          self.inputs[0]->grad_buffer().array() += 3 * self.inputs[0]->value.array() * self.grad.array();
        });
      },
      {x});
  CHECK_FALSE(bad.passed);
  CHECK(contains(bad.report(), "gradcheck FAILED"));
}
