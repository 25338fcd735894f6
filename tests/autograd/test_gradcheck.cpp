// Finite-difference gradient check of every op in autograd/op_table.hpp.
//
// Built against the double library (real = double), so central differences
//   dL/dv ~ (L(v + h) - L(v - h)) / 2h,   h = 1e-6,
// are accurate to ~1e-9: truncation error is O(h^2), rounding O(eps / h).
//
// Each case builds a small random instance out = f(inputs) and checks it with
// the library's gradient checker, m3oe::gradcheck (autograd/gradcheck.hpp):
// the scalar L = sum(out .* W), W a fixed random tensor (so every output
// entry matters, with its own weight); the analytic gradient from
// out.backward(W); every input gradient pre-filled with random numbers that
// are subtracted afterwards, so a backward that overwrites (=) instead of
// accumulating (+=) fails too. The tests at the end check the checker.
//
// The test walks kOpTable: an op with no case or no tolerance here fails,
// named. To add an op: table entry, forward/backward, a case below.
#include "autograd/backend/backend.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/op_table.hpp"
#include "autograd/ops.hpp"
#include "autograd/ops/matmul.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace m3oe;

static_assert(sizeof(real) == sizeof(double), "the gradient check needs the double build");

namespace {

using Rng = std::mt19937_64;

// One random instance: the leaves (all differentiable inputs, requiring grad)
// and the expression under test, reading the leaves' current values.
struct Instance {
  std::vector<Var> inputs;
  std::function<Var(const std::vector<Var>&)> f;
};

struct Variant {
  Variant(std::string label_, std::function<Instance(Rng&)> make_,
          std::function<void(Rng&)> custom_ = {})
      : label(std::move(label_)), make(std::move(make_)), custom(std::move(custom_)) {}
  std::string label;
  std::function<Instance(Rng&)> make;
  // When set, replaces the finite-difference check (stop_gradient, whose
  // whole point is a gradient that differs from the finite difference).
  std::function<void(Rng&)> custom;
};

Tensor uniform(Rng& rng, Index r, Index c, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(r, c);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = u(rng);
  return t;
}
// Random sign, magnitude in [lo, hi]: keeps values away from 0 (log, div, relu's kink).
Tensor away_from_zero(Rng& rng, Index r, Index c, double lo, double hi) {
  Tensor t = uniform(rng, r, c, lo, hi);
  std::bernoulli_distribution coin(0.5);
  for (Index i = 0; i < t.size(); ++i)
    if (coin(rng)) t.data()[i] = -t.data()[i];
  return t;
}
Var leaf(Tensor t) { return Var(std::move(t), true); }
Var leaf(Rng& rng, Index r, Index c, double lo = -1, double hi = 1) {
  return leaf(uniform(rng, r, c, lo, hi));
}

// The same computation on one input: f and its inputs (single-input ops).
Instance unary(Var x, Var (*op)(const Var&)) {
  return {{std::move(x)}, [op](const std::vector<Var>& v) { return op(v[0]); }};
}

// The fourth transpose combination, only reachable through the raw ops:
// a[K,M]^T @ b[N,K]^T -> [M,N], wrapped like the Var-level matmuls.
Var matmul_tt(const Var& a, const Var& b) {
  Tensor out;
  ops::matmul_forward(out, a.value(), b.value(), true, true);
  return make_result(std::move(out), "matmul_tt", {a, b}, [](Node& self) {
    Node& A = *self.inputs[0];
    Node& B = *self.inputs[1];
    ops::matmul_backward(A.grad_or_null(), B.grad_or_null(), self.grad, A.value, B.value, true,
                         true);
  });
}

// stop_gradient: same value, constant node, and exactly zero gradient.
void check_stop_gradient(Rng& rng) {
  Var x = leaf(rng, 3, 4);
  Var s = stop_gradient(x);
  CHECK(s.value() == x.value());
  CHECK_FALSE(s.requires_grad());
  CHECK(s.node()->inputs.empty());
  CHECK(std::string(s.op()) == "stop_gradient");

  // The only path from x to the loss goes through stop_gradient: x gets no
  // gradient at all, b (beside it) gets the full one.
  Var b = leaf(rng, 3, 4);
  Tensor w = uniform(rng, 3, 4, -1, 1);
  add(s, b).backward(w);
  CHECK(b.grad() == w);
  CHECK_FALSE(x.has_grad());
  CHECK(x.grad() == Tensor::Zero(3, 4));

  // y = stop(x) * x: only the direct factor carries a gradient, dL/dx = W * x
  // exactly (the finite difference would see 2 W x).
  Var x2 = leaf(rng, 2, 3);
  Tensor w2 = uniform(rng, 2, 3, -1, 1);
  mul(stop_gradient(x2), x2).backward(w2);
  CHECK(x2.grad() == Tensor(w2.array() * x2.value().array()));
}

using Cases = std::map<std::string, std::vector<Variant>>;

void add_binary_cases(Cases& cases) {
  struct Shapes {
    const char* label;
    Index ra, ca, rb, cb;
  };
  const Shapes shapes[] = {
      {"[3,4] with [3,4]", 3, 4, 3, 4},       {"[3,4] with row [1,4]", 3, 4, 1, 4},
      {"row [1,4] with [3,4]", 1, 4, 3, 4},   {"[3,4] with column [3,1]", 3, 4, 3, 1},
      {"column [3,1] with [3,4]", 3, 1, 3, 4}, {"[3,4] with scalar [1,1]", 3, 4, 1, 1},
      {"scalar [1,1] with [3,4]", 1, 1, 3, 4}, {"column [3,1] with row [1,4]", 3, 1, 1, 4},
      {"row [1,4] with column [3,1]", 1, 4, 3, 1}, {"row [1,4] with scalar", 1, 4, 1, 1},
      {"column [3,1] with scalar", 3, 1, 1, 1}, {"[3,1] with [3,1]", 3, 1, 3, 1},
  };
  using BinaryOp = Var (*)(const Var&, const Var&);
  const std::pair<const char*, BinaryOp> binary_ops[] = {
      {"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}};
  for (const auto& [name, op] : binary_ops) {
    const bool is_div = std::string(name) == "div";
    for (const Shapes& s : shapes) {
      cases[name].push_back({s.label, [s, op, is_div](Rng& rng) {
                               Var a = leaf(rng, s.ra, s.ca);
                               // Denominators in +-[0.5, 1.5]: far from the pole at 0.
                               Var b = is_div ? leaf(away_from_zero(rng, s.rb, s.cb, 0.5, 1.5))
                                              : leaf(rng, s.rb, s.cb);
                               return Instance{{a, b}, [op](const std::vector<Var>& v) {
                                                 return op(v[0], v[1]);
                                               }};
                             }});
    }
  }
}

Cases make_cases() {
  Cases c;
  // ---- matmul family ----
  c["matmul"] = {{"a[3,4] @ b[4,5]",
                  [](Rng& r) {
                    return Instance{{leaf(r, 3, 4), leaf(r, 4, 5)},
                                    [](const std::vector<Var>& v) { return matmul(v[0], v[1]); }};
                  }},
                 {"raw a[4,3]^T @ b[5,4]^T (both transposed)", [](Rng& r) {
                    return Instance{{leaf(r, 4, 3), leaf(r, 5, 4)}, [](const std::vector<Var>& v) {
                                      return matmul_tt(v[0], v[1]);
                                    }};
                  }}};
  c["matmul_nt"] = {{"a[3,4] @ b[5,4]^T", [](Rng& r) {
                       return Instance{{leaf(r, 3, 4), leaf(r, 5, 4)},
                                       [](const std::vector<Var>& v) { return matmul_nt(v[0], v[1]); }};
                     }}};
  c["matmul_tn"] = {{"a[4,3]^T @ b[4,5]", [](Rng& r) {
                       return Instance{{leaf(r, 4, 3), leaf(r, 4, 5)},
                                       [](const std::vector<Var>& v) { return matmul_tn(v[0], v[1]); }};
                     }}};
  c["linear"] = {{"x[3,4] w[4,5] + b[1,5]",
                  [](Rng& r) {
                    return Instance{{leaf(r, 3, 4), leaf(r, 4, 5), leaf(r, 1, 5)},
                                    [](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); }};
                  }},
                 {"x[3,4] w[4,5], no bias", [](Rng& r) {
                    return Instance{{leaf(r, 3, 4), leaf(r, 4, 5)},
                                    [](const std::vector<Var>& v) { return linear(v[0], v[1], Var()); }};
                  }}};

  // ---- elementwise family ----
  add_binary_cases(c);
  c["scale"] = {{"x[3,4] * s[1,1]", [](Rng& r) {
                   return Instance{{leaf(r, 3, 4), leaf(r, 1, 1)},
                                   [](const std::vector<Var>& v) { return scale(v[0], v[1]); }};
                 }}};
  c["add_scalar"] = {{"x[3,4] + 0.7", [](Rng& r) {
                        return Instance{{leaf(r, 3, 4)}, [](const std::vector<Var>& v) {
                                          return add_scalar(v[0], 0.7);
                                        }};
                      }}};
  c["mul_scalar"] = {{"x[3,4] * -1.3", [](Rng& r) {
                        return Instance{{leaf(r, 3, 4)}, [](const std::vector<Var>& v) {
                                          return mul_scalar(v[0], -1.3);
                                        }};
                      }}};
  // |x| in [0.5,1.5]: far from the pole at 0.
  c["reciprocal"] = {{"|x| in [0.5,1.5]", [](Rng& r) {
                        return unary(leaf(away_from_zero(r, 3, 4, 0.5, 1.5)), reciprocal);
                      }}};

  // ---- activation family ----
  c["sigmoid"] = {{"x in [-3,3]", [](Rng& r) { return unary(leaf(r, 3, 4, -3, 3), sigmoid); }}};
  // |x| >= 0.1: the step h = 1e-6 never crosses relu's kink at 0.
  c["relu"] = {{"|x| in [0.1,1]",
                [](Rng& r) { return unary(leaf(away_from_zero(r, 3, 4, 0.1, 1)), relu); }}};
  c["tanh"] = {{"x in [-2,2]", [](Rng& r) { return unary(leaf(r, 3, 4, -2, 2), tanh); }}};
  c["exp"] = {{"x in [-2,2]", [](Rng& r) { return unary(leaf(r, 3, 4, -2, 2), exp); }}};
  c["log"] = {{"x in [0.2,3]", [](Rng& r) { return unary(leaf(r, 3, 4, 0.2, 3), log); }}};

  // ---- softmax family ----
  c["softmax_rows"] = {
      {"x[3,5] in [-2,2]", [](Rng& r) { return unary(leaf(r, 3, 5, -2, 2), softmax_rows); }},
      {"x[2,4] in [20,30] (max subtraction)",
       [](Rng& r) { return unary(leaf(r, 2, 4, 20, 30), softmax_rows); }}};

  // ---- loss family ----
  c["bce"] = {{"p in (0.05,0.95), 0/1 labels",
               [](Rng& r) {
                 Tensor y = uniform(r, 4, 3, 0, 1).array().round();
                 return Instance{{leaf(r, 4, 3, 0.05, 0.95)},
                                 [y](const std::vector<Var>& v) { return bce(v[0], y); }};
               }},
              {"soft labels in [0,1]", [](Rng& r) {
                 Tensor y = uniform(r, 4, 3, 0, 1);
                 return Instance{{leaf(r, 4, 3, 0.05, 0.95)},
                                 [y](const std::vector<Var>& v) { return bce(v[0], y); }};
               }}};
  c["bce_with_logits"] = {{"z in [-4,4], 0/1 labels",
                           [](Rng& r) {
                             Tensor y = uniform(r, 4, 3, 0, 1).array().round();
                             return Instance{{leaf(r, 4, 3, -4, 4)}, [y](const std::vector<Var>& v) {
                                               return bce_with_logits(v[0], y);
                                             }};
                           }},
                          {"large |z| in [15,30]", [](Rng& r) {
                             Tensor y = uniform(r, 2, 3, 0, 1).array().round();
                             return Instance{{leaf(away_from_zero(r, 2, 3, 15, 30))},
                                             [y](const std::vector<Var>& v) {
                                               return bce_with_logits(v[0], y);
                                             }};
                           }}};

  // ---- layernorm family ----
  c["layer_norm"] = {{"x[4,6], gamma[1,6], beta[1,6]", [](Rng& r) {
                        return Instance{{leaf(r, 4, 6, -2, 2), leaf(r, 1, 6, 0.5, 1.5), leaf(r, 1, 6)},
                                        [](const std::vector<Var>& v) {
                                          return layer_norm(v[0], v[1], v[2]);
                                        }};
                      }}};

  // ---- fused family ----
  c["linear_ln_relu"] = {
      {"x[5,4] @ w[4,6] + b, one LayerNorm of 6", [](Rng& r) {
         return Instance{{leaf(r, 5, 4), leaf(r, 4, 6), leaf(r, 1, 6), leaf(r, 1, 6, 0.5, 1.5),
                          leaf(r, 1, 6, 0.2, 0.6)},
                         [](const std::vector<Var>& v) {
                           return linear_ln_relu(v[0], v[1], v[2], v[3], v[4]);
                         }};
       }},
      {"x[5,4] @ w[4,9] + b, 3 groups of 3", [](Rng& r) {
         return Instance{{leaf(r, 5, 4), leaf(r, 4, 9), leaf(r, 1, 9), leaf(r, 1, 9, 0.5, 1.5),
                          leaf(r, 1, 9, 0.2, 0.6)},
                         [](const std::vector<Var>& v) {
                           return linear_ln_relu(v[0], v[1], v[2], v[3], v[4], 3);
                         }};
       }},
      {"no bias, 2 groups of 4", [](Rng& r) {
         return Instance{{leaf(r, 3, 5), leaf(r, 5, 8), leaf(r, 1, 8, 0.5, 1.5),
                          leaf(r, 1, 8, 0.2, 0.6)},
                         [](const std::vector<Var>& v) {
                           return linear_ln_relu(v[0], v[1], Var(), v[2], v[3], 2);
                         }};
       }}};
  c["mix_experts"] = {
      {"x[4,5*3]: 3 per-row + 2 shared coefficients", [](Rng& r) {
         return Instance{{leaf(r, 4, 15), leaf(r, 4, 3), leaf(r, 1, 2)},
                         [](const std::vector<Var>& v) { return mix_experts(v[0], v[1], v[2]); }};
       }},
      {"per-row coefficients only", [](Rng& r) {
         return Instance{{leaf(r, 3, 8), leaf(r, 3, 4)},
                         [](const std::vector<Var>& v) { return mix_experts(v[0], v[1], Var()); }};
       }},
      {"shared coefficients only", [](Rng& r) {
         return Instance{{leaf(r, 3, 6), leaf(r, 1, 2)},
                         [](const std::vector<Var>& v) { return mix_experts(v[0], Var(), v[1]); }};
       }}};

  // ---- index family ----
  c["embedding"] = {{"table[5,3], ids with repeats", [](Rng& r) {
                       const IndexList ids{1, 3, 1, 4, 1, 0};
                       return Instance{{leaf(r, 5, 3)}, [ids](const std::vector<Var>& v) {
                                         return embedding(v[0], ids);
                                       }};
                     }}};
  c["concat_cols"] = {{"[3,2] | [3,3] | [3,1]", [](Rng& r) {
                         return Instance{{leaf(r, 3, 2), leaf(r, 3, 3), leaf(r, 3, 1)},
                                         [](const std::vector<Var>& v) { return concat_cols(v); }};
                       }}};
  c["slice_cols"] = {{"x[3,6][:, 2:5]", [](Rng& r) {
                        return Instance{{leaf(r, 3, 6)}, [](const std::vector<Var>& v) {
                                          return slice_cols(v[0], 2, 3);
                                        }};
                      }}};
  c["gather_rows"] = {{"x[4,3] at rows with repeats", [](Rng& r) {
                         const IndexList rows{2, 0, 2, 3, 2};
                         return Instance{{leaf(r, 4, 3)}, [rows](const std::vector<Var>& v) {
                                           return gather_rows(v[0], rows);
                                         }};
                       }}};
  c["scatter_rows"] = {{"x[5,3] into [6,3], duplicate rows", [](Rng& r) {
                          const IndexList rows{0, 2, 2, 4, 0};
                          return Instance{{leaf(r, 5, 3)}, [rows](const std::vector<Var>& v) {
                                            return scatter_rows(v[0], rows, 6);
                                          }};
                        }}};

  // ---- reduce family ----
  c["sum"] = {{"x[3,4]", [](Rng& r) { return unary(leaf(r, 3, 4), sum); }}};
  c["mean"] = {{"x[3,4]", [](Rng& r) { return unary(leaf(r, 3, 4), mean); }}};
  c["sum_to_row"] = {{"x[3,4]", [](Rng& r) { return unary(leaf(r, 3, 4), sum_to_row); }}};
  c["mean_to_row"] = {{"x[3,4]", [](Rng& r) { return unary(leaf(r, 3, 4), mean_to_row); }}};
  c["sum_to_col"] = {{"x[3,4]", [](Rng& r) { return unary(leaf(r, 3, 4), sum_to_col); }}};
  c["mean_to_col"] = {{"x[3,4]", [](Rng& r) { return unary(leaf(r, 3, 4), mean_to_col); }}};
  c["stop_gradient"] = {{"exactly zero gradient", nullptr, check_stop_gradient}};
  return c;
}

// Largest accepted |analytic - numeric| / max(1, |numeric|), per op. Central
// differences in double are good to ~1e-9 here; ops whose derivative is
// larger or more curved (1/p in bce, 1/b^2 in div and reciprocal, the normalisation in
// layer_norm) get one more decade.
const std::map<std::string, double> kTolerance = {
    {"matmul", 1e-8},      {"matmul_nt", 1e-8},   {"matmul_tn", 1e-8},   {"linear", 1e-8},
    {"add", 1e-8},         {"sub", 1e-8},         {"mul", 1e-8},         {"div", 1e-7},
    {"scale", 1e-8},       {"add_scalar", 1e-8},  {"mul_scalar", 1e-8},  {"reciprocal", 1e-7}, {"sigmoid", 1e-8},
    {"relu", 1e-8},        {"tanh", 1e-8},        {"exp", 1e-8},         {"log", 1e-7},
    {"softmax_rows", 1e-8}, {"bce", 1e-7},        {"bce_with_logits", 1e-8},
    {"layer_norm", 1e-7},  {"linear_ln_relu", 1e-7}, {"mix_experts", 1e-8},
    {"embedding", 1e-8},   {"concat_cols", 1e-8}, {"slice_cols", 1e-8},
    {"gather_rows", 1e-8}, {"scatter_rows", 1e-8}, {"sum", 1e-8},        {"mean", 1e-8},
    {"sum_to_row", 1e-8},  {"mean_to_row", 1e-8}, {"sum_to_col", 1e-8},  {"mean_to_col", 1e-8},
    {"stop_gradient", 0.0},
};

// One instance through the library's checker (autograd/gradcheck.hpp):
// L = sum(Y .* W) with W drawn from `seed`, gradients pre-filled (so an
// assigning backward fails), every entry, h = 1e-6, and the op's tolerance
// relative to max(1, |numeric|) (atol = rtol = tol).
GradcheckResult check_instance(const Instance& inst, double tol, Rng& rng) {
  GradcheckOptions o;
  o.atol = o.rtol = tol;
  o.seed = rng();
  return gradcheck(inst.f, inst.inputs, o);
}

}  // namespace

TEST_CASE("every op of the op table has a gradient check case and a tolerance") {
  const Cases cases = make_cases();
  std::set<std::string> in_table;
  for (const OpInfo& op : kOpTable) {
    const std::string name(op.name);
    in_table.insert(name);
    CHECK_MESSAGE(cases.count(name) == 1,
                  "op '" << name << "' (family " << op.family << ") has no gradcheck case in "
                  "tests/autograd/test_gradcheck.cpp: add one to make_cases()");
    CHECK_MESSAGE(kTolerance.count(name) == 1, "op '" << name << "' has no entry in kTolerance");
  }
  for (const auto& [name, variants] : cases) {
    CHECK_MESSAGE(in_table.count(name) == 1,
                  "gradcheck case '" << name << "' is not an op of autograd/op_table.hpp");
    CHECK_MESSAGE(!variants.empty(), "op '" << name << "' has an empty case list");
  }
}

TEST_CASE("finite differences agree with backward for every op of the table") {
  const Cases cases = make_cases();
  Rng rng(20240714);  // one seed drives every instance
  for (const OpInfo& op : kOpTable) {
    const std::string name(op.name);
    if (!cases.count(name) || !kTolerance.count(name)) continue;  // reported above
    for (const Variant& variant : cases.at(name)) {
      INFO("op '" << name << "' [" << variant.label << "]");
      if (variant.custom) {
        variant.custom(rng);
        continue;
      }
      const GradcheckResult r = check_instance(variant.make(rng), kTolerance.at(name), rng);
      CHECK_MESSAGE(r.passed, r.report());
      CHECK(r.checked > 0);
    }
  }
}

TEST_CASE("the ops also check out on the reference backend") {
  // The hot paths (gemm, layernorm, softmax) go through backend::active();
  // this repeats their checks with the plain reference kernels.
  backend::ScopedBackend use_reference(backend::reference());
  const Cases cases = make_cases();
  Rng rng(7);
  for (const char* name : {"matmul", "matmul_nt", "matmul_tn", "linear", "softmax_rows",
                           "layer_norm", "linear_ln_relu"}) {
    for (const Variant& variant : cases.at(name)) {
      const GradcheckResult r = check_instance(variant.make(rng), kTolerance.at(name), rng);
      CHECK_MESSAGE(r.passed, "reference backend, op '" << name << "' [" << variant.label
                                                        << "]: " << r.report());
    }
  }
}

TEST_CASE("bce matches torch.nn.BCELoss at the clamps") {
  // Reference values from torch 1.13 (float64):
  //   p = [0, 1, 0.3, 1e-8], y = [1, 1, 0, 0]
  //   BCELoss()(p, y) = 25.08916873848468
  //   p.grad          = [-250000000998.9507, 0, 0.35714285714285715, 0.25000000250000004]
  // (-2.5e11 and not exactly: torch floors p (1 - p) at the float 1e-12f.)
  Tensor p(1, 4), y(1, 4);
  p << 0, 1, 0.3, 1e-8;
  y << 1, 1, 0, 0;
  Var pv(p, true);
  Var l = bce(pv, y);
  CHECK(l.item() == doctest::Approx(25.08916873848468).epsilon(1e-12));
  l.backward();
  CHECK(pv.grad()(0, 0) == doctest::Approx(-250000000998.9507).epsilon(1e-12));
  CHECK(pv.grad()(0, 1) == 0.0);
  CHECK(pv.grad()(0, 2) == doctest::Approx(0.35714285714285715).epsilon(1e-12));
  CHECK(pv.grad()(0, 3) == doctest::Approx(0.25000000250000004).epsilon(1e-12));
}

TEST_CASE("bce_with_logits equals bce of the sigmoid, without overflow") {
  Tensor z(1, 5), y(1, 5);
  z << -3, -0.5, 0, 2, 4;
  y << 0, 1, 1, 0, 1;
  const double a = bce_with_logits(Var(z), y).item();
  const double b = bce(sigmoid(Var(z)), y).item();
  CHECK(a == doctest::Approx(b).epsilon(1e-12));
  // At |z| = 800 exp(z) overflows; the stable form still gives the exact loss |z|/n.
  Tensor big(1, 2), yb(1, 2);
  big << 800, -800;
  yb << 0, 1;
  CHECK(bce_with_logits(Var(big), yb).item() == doctest::Approx(800.0));
}

// ---- the checker itself (autograd/gradcheck.hpp) ---------------------------

namespace {
// y = x^2 with a deliberately wrong backward: right everywhere except entry
// (1,2), which gets 0.5 too much.
Var square_with_a_bug(const Var& x) {
  Tensor y = x.value().array().square();
  return make_result(std::move(y), "square_with_a_bug", {x}, [](Node& self) {
    Node& X = *self.inputs[0];
    if (!X.requires_grad) return;
    X.grad_buffer().array() += 2 * X.value.array() * self.grad.array();
    X.grad_buffer()(1, 2) += 0.5;
  });
}
// The identity with a backward that assigns (=) instead of adding (+=).
Var identity_that_assigns(const Var& x) {
  return make_result(x.value(), "identity_that_assigns", {x}, [](Node& self) {
    if (self.inputs[0]->requires_grad) self.inputs[0]->grad = self.grad;
  });
}
}  // namespace

TEST_CASE("gradcheck reports a wrong backward, naming the worst element") {
  Rng rng(5);
  Var a = leaf(rng, 3, 4);
  Var x = leaf(rng, 3, 4);
  x.set_name("x");
  const GradcheckFn f = [](const std::vector<Var>& v) { return add(mul(v[0], v[0]), square_with_a_bug(v[1])); };
  GradcheckOptions o;
  o.atol = o.rtol = 1e-8;
  const GradcheckResult r = gradcheck(f, {a, x}, o);
  CHECK_FALSE(r.passed);
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.checked == 24);
  CHECK(r.failed == 1);
  CHECK(r.worst.input == 1);
  CHECK(r.worst.input_name == "x");
  CHECK(r.worst.row == 1);
  CHECK(r.worst.col == 2);
  CHECK(r.worst.analytic - r.worst.numeric == doctest::Approx(0.5).epsilon(1e-6));
  CHECK(r.worst.abs_error == doctest::Approx(0.5).epsilon(1e-6));
  CHECK(r.worst.ratio > 1);
  // The correct input checks out on its own.
  CHECK(r.worst_per_input[0].checked);
  CHECK(r.worst_per_input[0].ratio <= 1);
  const std::string report = r.report();
  INFO(report);
  CHECK(report.find("FAILED: 1 of 24 entries") != std::string::npos);
  CHECK(report.find("input 1 'x' [3,4] at (1,2)") != std::string::npos);

  // Without the bug, the same check passes.
  const GradcheckResult ok = gradcheck(
      [](const std::vector<Var>& v) { return add(mul(v[0], v[0]), mul(v[1], v[1])); }, {a, x}, o);
  CHECK_MESSAGE(ok.passed, ok.report());
  CHECK(ok.report().rfind("gradcheck passed: 0 of 24", 0) == 0);
}

TEST_CASE("gradcheck's accumulation check catches a backward that assigns") {
  Rng rng(6);
  Var x = leaf(rng, 2, 3);
  const GradcheckFn f = [](const std::vector<Var>& v) { return identity_that_assigns(v[0]); };
  CHECK_FALSE(gradcheck(f, {x}).passed);  // pre-filled gradients are overwritten
  GradcheckOptions o;
  o.check_accumulation = false;
  CHECK(gradcheck(f, {x}, o).passed);  // the values themselves are right
}

TEST_CASE("gradcheck: options, skipped inputs, restored gradients, bad calls") {
  Rng rng(8);
  Var w = leaf(rng, 4, 5);
  Var c(uniform(rng, 3, 4, -1, 1));  // a constant: held fixed, not checked
  const GradcheckFn f = [](const std::vector<Var>& v) { return tanh(matmul(v[1], v[0])); };
  w.node()->grad = Tensor::Constant(4, 5, 7.0);
  const GradcheckResult all = gradcheck(f, {w, c});
  CHECK_MESSAGE(all.passed, all.report());
  CHECK(all.checked == 20);
  CHECK_FALSE(all.worst_per_input[1].checked);
  CHECK(w.grad() == Tensor::Constant(4, 5, 7.0));  // the caller's gradient is back

  GradcheckOptions some;
  some.max_entries_per_input = 6;  // every 20/6 = 3rd entry: 0, 3, ..., 18
  CHECK(gradcheck(f, {w, c}, some).checked == 7);

  // A captured-inputs function (a model's loss) and a scalar output.
  GradcheckOptions ones;
  ones.random_output_weights = false;
  const GradcheckResult scalar = gradcheck([&] { return sum(f({w, c})); }, {w}, ones);
  CHECK_MESSAGE(scalar.passed, scalar.report());

  CHECK_THROWS_AS(gradcheck(f, {c, c}), std::invalid_argument);       // nothing requires grad
  CHECK_THROWS_AS(gradcheck(f, {tanh(w), c}), std::invalid_argument);  // not a leaf
  GradcheckOptions bad;
  bad.h = 0;
  CHECK_THROWS_AS(gradcheck(f, {w, c}, bad), std::invalid_argument);
}
