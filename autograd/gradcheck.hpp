// gradcheck.hpp: check any op's or function's backward against central
// finite differences, like torch.autograd.gradcheck.
//
//   Var x(Tensor::Random(3, 4), true), w(Tensor::Random(4, 5), true);
//   GradcheckResult r = gradcheck([](const std::vector<Var>& v) { return tanh(matmul(v[0], v[1])); },
//                                 {x, w});
//   if (!r) std::cerr << r.report();
//
// The output Y = f(inputs) may have any shape. The checked scalar is
// L = sum(Y .* W) with W a fixed random tensor (options.seed), so that every
// output entry matters with its own weight. The analytic gradient of every
// input comes from Y.backward(W); the numeric one, for each entry v of each
// input that requires grad, from
//
//   dL/dv ~ (L(v + h) - L(v - h)) / 2h
//
// with f re-run under NoGradGuard. An entry passes when
//   |analytic - numeric| <= max(atol, rtol * |numeric|)
// (so atol = rtol = tol is "tol relative to max(1, |numeric|)").
//
// Precision: central differences need the double build (-DM3OE_DOUBLE=1,
// m3oe_deps['f64']): truncation error O(h^2) and rounding O(eps L / h) give
// ~1e-9 at h = 1e-6, and the defaults below are tight. In the float build
// it still works, with defaults of h = 1e-3 and atol = rtol = 1e-2: a float
// check sees only about three correct digits, enough to catch a wrong sign
// or a dropped factor but not a subtle error. Inputs should keep away from
// kinks (relu at 0) and poles (log at 0) by more than h.
#pragma once

#include "autograd/node.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace m3oe {

// Defaults that suit the build's `real` (see above).
inline constexpr bool kGradcheckDouble = std::is_same_v<real, double>;
inline constexpr double kGradcheckStep = kGradcheckDouble ? 1e-6 : 1e-3;
inline constexpr double kGradcheckTolerance = kGradcheckDouble ? 1e-6 : 1e-2;

struct GradcheckOptions {
  double h = kGradcheckStep;             // the finite-difference step
  double atol = kGradcheckTolerance;     // absolute tolerance
  double rtol = kGradcheckTolerance;     // tolerance relative to |numeric|
  std::uint64_t seed = 1;                // draws W (and the pre-filled gradients)
  // false: W = 1, i.e. L = sum(Y) (for a scalar loss, L = Y itself).
  bool random_output_weights = true;
  // Pre-fill every input's gradient with random numbers before the backward
  // and subtract them after: a backward that assigns (=) where it must add
  // (+=) then fails too.
  bool check_accumulation = true;
  // 0: check every entry. n > 0: at most about n entries of each input,
  // evenly spread (for the parameters of a whole model).
  Index max_entries_per_input = 0;
};

// One compared entry: input `input` (its Var name, if it has one) at (row, col).
struct GradcheckEntry {
  std::size_t input = 0;
  std::string input_name;
  Index rows = 0, cols = 0;  // the input's shape
  Index row = 0, col = 0;
  double analytic = 0, numeric = 0;
  double abs_error = 0;  // |analytic - numeric|
  double rel_error = 0;  // abs_error / |numeric| (inf when numeric is 0 and they differ)
  // abs_error / max(atol, rtol |numeric|): the entry fails when > 1.
  double ratio = 0;
  bool checked = false;  // false: no entry was compared (yet)
};

struct GradcheckResult {
  bool passed = true;
  std::size_t checked = 0;  // entries compared
  std::size_t failed = 0;   // entries out of tolerance
  GradcheckEntry worst;     // the largest ratio over all inputs
  // The worst entry of each input (inputs[k]); unchecked for inputs that do
  // not require grad.
  std::vector<GradcheckEntry> worst_per_input;
  GradcheckOptions options;

  explicit operator bool() const { return passed; }
  // "gradcheck passed: ..." or "gradcheck FAILED: ..." with the worst entry.
  std::string report() const;
};

// f reads the inputs it is given (the same Vars, with perturbed values while
// the numeric gradient is taken) and returns Y. Inputs that do not require
// grad are held fixed and not checked. The inputs' gradients are restored
// afterwards. Throws std::invalid_argument if no input requires grad.
using GradcheckFn = std::function<Var(const std::vector<Var>& inputs)>;
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Var>& inputs,
                          const GradcheckOptions& options = {});
// For a function that captures its parameters (a model's loss): `inputs` are
// the leaves to check, f reads them itself.
GradcheckResult gradcheck(const std::function<Var()>& f, const std::vector<Var>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace m3oe
