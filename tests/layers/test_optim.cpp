// Optimizers against hand-computed updates (PyTorch's formulas), groups,
// skipped parameters, state dicts, StepLR.
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "autograd/backend/threads.hpp"
#include "optim/step_lr.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

using namespace m3oe;
using doctest::Approx;

namespace {
Var param(std::initializer_list<real> values) {
  Tensor t(1, static_cast<Index>(values.size()));
  Index i = 0;
  for (real v : values) t(0, i++) = v;
  return Var(t, true);
}
void set_grad(Var& p, std::initializer_list<real> values) {
  Tensor& g = p.node()->grad_buffer();
  Index i = 0;
  for (real v : values) g(0, i++) = v;
}
}  // namespace

TEST_CASE("SGD: plain, weight decay, momentum, dampening, nesterov") {
  Var p = param({1, 2});
  optim::SGD plain({p}, 0.1);
  set_grad(p, {0.5, -1});
  plain.step();
  CHECK(p.value()(0, 0) == Approx(0.95));
  CHECK(p.value()(0, 1) == Approx(2.1));

  Var q = param({1, 2});
  optim::SGD decay({q}, 0.1, {}, 0.1);
  set_grad(q, {0.5, -1});
  decay.step();  // d = g + 0.1 p = [0.6, -0.8]
  CHECK(q.value()(0, 0) == Approx(0.94));
  CHECK(q.value()(0, 1) == Approx(2.08));

  auto two_steps = [](optim::SGDOptions o) {
    Var r = param({1});
    optim::SGD sgd({r}, 0.1, o);
    for (int s = 0; s < 2; ++s) {
      set_grad(r, {0.5});
      sgd.step();
    }
    return double(r.value()(0, 0));
  };
  // buf1 = 0.5; buf2 = 0.9 * 0.5 + 0.5 = 0.95: p = 1 - 0.05 - 0.095
  CHECK(two_steps({0.9, 0, false}) == Approx(0.855));
  // dampening 0.5: buf2 = 0.45 + 0.25 = 0.7: p = 1 - 0.05 - 0.07
  CHECK(two_steps({0.9, 0.5, false}) == Approx(0.88));
  // nesterov: d1 = 0.5 + 0.9 * 0.5 = 0.95, d2 = 0.5 + 0.9 * 0.95 = 1.355
  CHECK(two_steps({0.9, 0, true}) == Approx(1 - 0.095 - 0.1355));
  Var r = param({1});
  CHECK_THROWS_AS(optim::SGD({r}, 0.1, {0.0, 0.0, true}), std::invalid_argument);
}

TEST_CASE("Adam: two steps by hand, with and without L2 weight decay") {
  // Constant gradient 0.5, lr 0.1: each bias-corrected step moves by ~lr.
  Var p = param({1});
  optim::Adam adam({p}, 0.1);
  set_grad(p, {0.5});
  adam.step();
  CHECK(p.value()(0, 0) == Approx(1 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-7));
  set_grad(p, {0.5});
  adam.step();
  CHECK(p.value()(0, 0) == Approx(0.8).epsilon(1e-6));

  // weight decay 0.1 added to the gradient: g1 = 0.6, g2 = 0.5 + 0.1 * p1.
  Var q = param({1});
  optim::Adam decayed({q}, 0.1, 0.1);
  double m = 0, v = 0, w = 1;
  for (int step = 1; step <= 3; ++step) {
    set_grad(q, {0.5});
    decayed.step();
    const double g = 0.5 + 0.1 * w;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const double bc1 = 1 - std::pow(0.9, step), bc2 = 1 - std::pow(0.999, step);
    w -= 0.1 / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + 1e-8);
    CHECK(q.value()(0, 0) == Approx(w).epsilon(1e-6));
  }
  CHECK(w == Approx(0.7).epsilon(2e-3));  // sanity: three steps of ~0.1
}

TEST_CASE("AdamW: decoupled decay p *= 1 - lr * wd before the Adam step") {
  Var p = param({1});
  optim::AdamW adamw({p}, 0.1, 0.1);
  set_grad(p, {0.5});
  adamw.step();  // 1 * 0.99 - 0.1
  CHECK(p.value()(0, 0) == Approx(0.89).epsilon(1e-6));
  set_grad(p, {0.5});
  adamw.step();  // 0.89 * 0.99 - 0.1
  CHECK(p.value()(0, 0) == Approx(0.7811).epsilon(1e-6));
}

TEST_CASE("parameter groups: own lr and weight decay; params without gradient are skipped") {
  Var a = param({1}), b = param({1}), idle = param({3});
  optim::SGD sgd({{{a}, 0.1, 0.0, "weights"}, {{b, idle}, 0.01, 0.5, "structure"}});
  set_grad(a, {1});
  set_grad(b, {1});
  sgd.step();
  CHECK(a.value()(0, 0) == Approx(0.9));
  CHECK(b.value()(0, 0) == Approx(1 - 0.01 * 1.5));
  CHECK(idle.value()(0, 0) == 3);  // no gradient: not even decayed (PyTorch: grad is None)
  sgd.zero_grad();
  CHECK_FALSE(a.has_grad());
  sgd.param_groups()[0].lr = 1;
  sgd.step();  // nothing has a gradient now
  CHECK(a.value()(0, 0) == Approx(0.9));

  Var c = param({1});
  CHECK_THROWS_AS(optim::SGD({{{c}, 0.1, 0, ""}, {{c}, 0.1, 0, ""}}), std::invalid_argument);
  Var frozen(Tensor::Zero(1, 1), false);
  CHECK_THROWS_AS(optim::Adam({frozen}, 0.1), std::invalid_argument);
}

TEST_CASE("optimizer state dict: a restored Adam continues bit-identically") {
  auto grads = [](int s) { return real(0.3 + 0.1 * s); };
  Var p1 = param({1, -1});
  optim::Adam a({{{p1}, 0.05, 1e-3, ""}});
  NamedTensors saved;
  Tensor saved_value;
  for (int s = 0; s < 5; ++s) {
    if (s == 2) {
      saved = a.state_dict();
      saved_value = p1.value();
    }
    set_grad(p1, {grads(s), -grads(s)});
    a.step();
  }
  Var p2(saved_value, true);
  optim::Adam b({{{p2}, 0.123, 1e-3, ""}});  // lr comes back from the state
  b.load_state_dict(saved);
  CHECK(b.param_groups()[0].lr == Approx(0.05).epsilon(1e-12));
  for (int s = 2; s < 5; ++s) {
    set_grad(p2, {grads(s), -grads(s)});
    b.step();
  }
  CHECK(p2.value() == p1.value());
  CHECK(get_tensor(a.state_dict(), "group0.param0.step", "state")(0, 0) == 5);

  NamedTensors bad = saved;
  bad.emplace_back("group0.param0.nope", Tensor::Zero(1, 1));
  CHECK_THROWS_AS(b.load_state_dict(bad), std::invalid_argument);
  NamedTensors partial;
  for (auto& [n, t] : saved)
    if (n != "group0.param0.exp_avg") partial.emplace_back(n, t);
  CHECK_THROWS_AS(b.load_state_dict(partial), std::invalid_argument);
  NamedTensors wrong = saved;
  for (auto& [n, t] : wrong)
    if (n == "group0.param0.exp_avg") t = Tensor::Zero(2, 2);
  CHECK_THROWS_AS(b.load_state_dict(wrong), std::invalid_argument);
}

TEST_CASE("StepLR: lr * gamma every step_size epochs, for every group") {
  Var a = param({1}), b = param({1});
  optim::Adam adam({{{a}, 1.0, 0, ""}, {{b}, 0.1, 0, ""}});
  optim::StepLR sched(adam, 2, 0.5);
  const double expected[] = {1.0, 0.5, 0.5, 0.25, 0.25, 0.125};
  for (double e : expected) {
    sched.step();
    CHECK(adam.param_groups()[0].lr == Approx(e));
    CHECK(adam.param_groups()[1].lr == Approx(e / 10));
  }
  sched.set_last_epoch(0);
  CHECK(adam.param_groups()[0].lr == 1.0);
  CHECK_THROWS_AS(optim::StepLR(adam, 0, 0.5), std::invalid_argument);
}

namespace {
// Parameters of many sizes, 154,000 values in all: above the size from which
// step() updates them in parallel.
std::vector<Var> many_params() {
  std::vector<Var> ps;
  for (Index n : {40000, 7, 30000, 1, 25000, 20000, 12000, 9000, 8000, 5000, 4000, 992}) {
    Tensor v(1, n);
    for (Index i = 0; i < n; ++i) v(0, i) = real(std::sin(0.37 * double(i + n)));
    ps.emplace_back(v, true);
  }
  return ps;
}
std::vector<Tensor> adam_run(int threads) {
  set_num_threads(threads);
  std::vector<Var> ps = many_params();
  optim::Adam opt({{ps, 1e-2, 1e-5, ""}});
  for (int s = 0; s < 3; ++s) {
    for (Var& p : ps) {
      Tensor& g = p.node()->grad_buffer();
      for (Index i = 0; i < g.cols(); ++i) g(0, i) = real(std::cos(0.11 * double(i * (s + 1))));
    }
    opt.step();
  }
  set_num_threads(0);
  std::vector<Tensor> out;
  for (const Var& p : ps) out.push_back(p.value());
  return out;
}

// An optimizer whose update fails for parameters of one size.
class FailingSgd : public optim::Optimizer {
 public:
  FailingSgd(std::vector<Var> ps, Index bad_size)
      : Optimizer({{std::move(ps), 1.0, 0.0, ""}}), bad_size_(bad_size) {}

 protected:
  void update(Tensor& p, const Tensor& g, Slots&, const optim::ParamGroup&) override {
    if (p.size() == bad_size_) throw std::runtime_error("no update for this one");
    p -= g;
  }
  std::vector<std::pair<std::string, bool>> slot_layout() const override { return {}; }

 private:
  Index bad_size_;
};
}  // namespace

TEST_CASE("step() updates parameters in parallel: same bits on 1 and 2 threads, errors rethrown") {
  CHECK(optim::Optimizer::kParallelStepMin < 154000);
  const std::vector<Tensor> one = adam_run(1), two = adam_run(2);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
  // The parameters did move (the comparison is not between two copies of the start).
  CHECK(one[0] != many_params()[0].value());

  set_num_threads(2);
  std::vector<Var> ps = many_params();
  for (Var& p : ps) p.node()->grad_buffer().setOnes();
  FailingSgd opt(ps, 25000);
  CHECK_THROWS_WITH_AS(opt.step(), "no update for this one", std::runtime_error);
  set_num_threads(0);
  // The other parameters were updated (p - 1).
  CHECK(ps[0].value()(0, 5) == doctest::Approx(many_params()[0].value()(0, 5) - 1));
  CHECK(ps[4].value() == many_params()[4].value());
}
