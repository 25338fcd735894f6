#include "autograd/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace m3oe {

namespace {

Tensor uniform(std::mt19937_64& rng, Index rows, Index cols) {
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor t(rows, cols);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<real>(u(rng));
  return t;
}

// L = sum(f(inputs) .* w), in double, without recording a graph.
double weighted_sum(const GradcheckFn& f, const std::vector<Var>& inputs, const Tensor& w) {
  NoGradGuard no_grad;
  const Var y = f(inputs);
  if (y.rows() != w.rows() || y.cols() != w.cols())
    throw std::logic_error("gradcheck: f returned " + shape_str(y.value()) + ", first " +
                           shape_str(w) + ": it must return the same shape every time");
  double sum = 0;
  for (Index i = 0; i < w.size(); ++i)
    sum += static_cast<double>(y.value().data()[i]) * static_cast<double>(w.data()[i]);
  return sum;
}

// Puts the inputs' gradients back as they were, also when f throws.
class GradRestore {
 public:
  explicit GradRestore(const std::vector<Var>& inputs) : inputs_(inputs) {
    for (const Var& x : inputs_) saved_.push_back(x.node()->grad);
  }
  ~GradRestore() {
    for (std::size_t k = 0; k < inputs_.size(); ++k) inputs_[k].node()->grad = std::move(saved_[k]);
  }
  GradRestore(const GradRestore&) = delete;
  GradRestore& operator=(const GradRestore&) = delete;

 private:
  const std::vector<Var>& inputs_;
  std::vector<Tensor> saved_;
};

// abs_error / max(atol, rtol |numeric|), with 0/0 = 0 and NaN as infinity.
double error_ratio(double abs_error, double numeric, const GradcheckOptions& o) {
  if (!std::isfinite(abs_error)) return std::numeric_limits<double>::infinity();
  const double allowed = std::max(o.atol, o.rtol * std::abs(numeric));
  if (allowed <= 0) return abs_error == 0 ? 0 : std::numeric_limits<double>::infinity();
  return abs_error / allowed;
}

std::string describe(const GradcheckEntry& e) {
  std::ostringstream s;
  s.precision(10);
  s << "input " << e.input;
  if (!e.input_name.empty()) s << " '" << e.input_name << "'";
  s << " [" << e.rows << "," << e.cols << "] at (" << e.row << "," << e.col
    << "): analytic " << e.analytic << ", numeric " << e.numeric;
  s.precision(3);
  s << ", abs error " << e.abs_error << ", rel error " << e.rel_error << " (" << e.ratio
    << " x the tolerance)";
  return s.str();
}

}  // namespace

std::string GradcheckResult::report() const {
  std::ostringstream s;
  s << "gradcheck " << (passed ? "passed" : "FAILED") << ": " << failed << " of " << checked
    << " entries out of tolerance (atol " << options.atol << ", rtol " << options.rtol << ", h "
    << options.h << ")";
  if (worst.checked) s << "\n  worst: " << describe(worst);
  s << "\n";
  return s.str();
}

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Var>& inputs,
                          const GradcheckOptions& options) {
  bool any = false;
  for (const Var& x : inputs) {
    if (!x.defined()) throw std::invalid_argument("gradcheck: an input is an undefined Var");
    if (!x.node()->is_leaf())
      throw std::invalid_argument(std::string("gradcheck: an input is the result of op '") +
                                  x.op() + "', not a leaf: pass the leaves f is built from");
    any = any || x.requires_grad();
  }
  if (!any) throw std::invalid_argument("gradcheck: no input requires grad, nothing to check");
  if (!(options.h > 0)) throw std::invalid_argument("gradcheck: the step h must be > 0");

  GradcheckResult result;
  result.options = options;
  result.worst_per_input.resize(inputs.size());
  GradRestore restore(inputs);
  std::mt19937_64 rng(options.seed);

  // 1. The weights W of L = sum(Y .* W), from the shape of Y.
  Tensor w;
  {
    NoGradGuard no_grad;
    const Var y = f(inputs);
    w = options.random_output_weights ? uniform(rng, y.rows(), y.cols())
                                      : Tensor(Tensor::Ones(y.rows(), y.cols()));
  }

  // 2. Analytic: Y.backward(W) into (pre-filled) gradients.
  std::vector<Tensor> prefill(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Node& n = *inputs[k].node();
    if (options.check_accumulation && n.requires_grad) {
      prefill[k] = uniform(rng, n.value.rows(), n.value.cols());
      n.grad = prefill[k];
    } else {
      n.grad.resize(0, 0);
    }
  }
  f(inputs).backward(w);

  // 3. Numeric, entry by entry, and the comparison.
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Var x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor analytic = x.grad();
    if (prefill[k].size() != 0) analytic -= prefill[k];
    const Index n = x.value().size();
    const Index step = options.max_entries_per_input > 0
                           ? std::max<Index>(1, n / options.max_entries_per_input)
                           : 1;
    GradcheckEntry& worst = result.worst_per_input[k];
    for (Index i = 0; i < n; i += step) {
      real& v = x.value().data()[i];
      const real saved = v;
      v = static_cast<real>(saved + options.h);
      const double up = weighted_sum(f, inputs, w);
      v = static_cast<real>(saved - options.h);
      const double down = weighted_sum(f, inputs, w);
      v = saved;
      // The step actually taken (in float, saved + h is rounded).
      const double taken = static_cast<double>(static_cast<real>(saved + options.h)) -
                           static_cast<double>(static_cast<real>(saved - options.h));
      GradcheckEntry e;
      e.input = k;
      e.input_name = x.name();
      e.rows = x.rows();
      e.cols = x.cols();
      e.row = i / x.cols();
      e.col = i % x.cols();
      e.analytic = analytic.data()[i];
      e.numeric = (up - down) / taken;
      e.abs_error = std::abs(e.analytic - e.numeric);
      e.rel_error = e.numeric != 0 ? e.abs_error / std::abs(e.numeric)
                    : e.abs_error == 0 ? 0
                                       : std::numeric_limits<double>::infinity();
      if (!std::isfinite(e.abs_error)) e.rel_error = std::numeric_limits<double>::infinity();
      e.ratio = error_ratio(e.abs_error, e.numeric, options);
      e.checked = true;
      ++result.checked;
      if (e.ratio > 1) ++result.failed;
      if (!worst.checked || e.ratio > worst.ratio) worst = e;
    }
    if (worst.checked && (!result.worst.checked || worst.ratio > result.worst.ratio))
      result.worst = worst;
  }
  result.passed = result.failed == 0;
  return result;
}

GradcheckResult gradcheck(const std::function<Var()>& f, const std::vector<Var>& inputs,
                          const GradcheckOptions& options) {
  return gradcheck([&f](const std::vector<Var>&) { return f(); }, inputs, options);
}

}  // namespace m3oe
