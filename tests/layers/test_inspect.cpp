// Seeing inside a model: parameter names on the leaves, the Graphviz dump of
// the M3oE forward graph, errors that name the module they happened in, and
// the Tanh/Sigmoid modules.
#include "autograd/graph_dot.hpp"
#include "autograd/ops.hpp"
#include "layers/blocks.hpp"
#include "layers/containers.hpp"
#include "layers/linear.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"
#include "model_fixtures.hpp"
#include "test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

using namespace m3oe;
using m3oe::testing::error_of;

namespace {

M3oEConfig small_config(int D, int T) {
  M3oEConfig c = M3oEConfig::from_schema(testing::small_schema(D, T));
  c.embedding_dim = 4;
  c.fcn_dims = {12, 10, 10, 6};
  c.num_shared_experts = 3;
  return c;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A user-written module around a Sequential, as docs/autograd.md shows it.
class Net : public nn::UnaryModule {
 public:
  explicit Net(Rng& rng) : nn::UnaryModule("Net") {
    layers_ = &register_module("layers", std::make_unique<nn::Sequential>());
    layers_->append(std::make_unique<nn::Linear>(4, 6, rng));
    layers_->append(std::make_unique<nn::Tanh>());
    layers_->append(std::make_unique<nn::Linear>(6, 2, rng));
    layers_->append(std::make_unique<nn::Sigmoid>());
  }
  Var forward(const Var& x) override try {
    return layers_->forward(x);
  } catch (...) {
    nn::rethrow_in_module(*this);
  }
  nn::Sequential& layers() { return *layers_; }

 private:
  nn::Sequential* layers_;
};

}  // namespace

TEST_CASE("parameter leaves carry their dotted names from the moment the tree is built") {
  Rng rng(1);
  nn::Linear lone(3, 2, rng);
  CHECK(lone.weight().name() == "weight");  // on its own
  Net net(rng);
  for (const auto& [name, p] : net.named_parameters()) CHECK(p.name() == name);
  CHECK(net.parameter("layers.2.bias").name() == "layers.2.bias");

  M3oE model(small_config(2, 2), rng);
  for (const auto& [name, p] : model.named_parameters()) CHECK(p.name() == name);
  CHECK(model.parameter("expert.1.domain_specific.0.weight").name() ==
        "expert.1.domain_specific.0.weight");

  // name_parameters re-applies the names (after someone renamed a leaf).
  model.parameter("e_exp_t").set_name("renamed");
  nn::name_parameters(model);
  CHECK(model.parameter("e_exp_t").name() == "e_exp_t");
}

TEST_CASE("the M3oE forward graph as DOT: parameters by name, before and after backward") {
  Rng rng(2);
  M3oE model(small_config(2, 2), rng);
  const data::Batch b = testing::random_batch(model.config().schema, 32, rng);
  const Var loss = m3oe_loss(model.forward(b).probs, b, 2, 2);
  const std::string dot = to_dot(loss);
  const auto nodes = std::count(dot.begin(), dot.end(), '[') / 2;  // rough: label + style brackets
  CHECK(nodes > 100);
  CHECK(contains(dot, "label=\"gate.0.0.weight\\n[10,3]\", style=filled, fillcolor=lightblue"));
  CHECK(contains(dot, "label=\"tower.3.3.bias\\n[1,1]\""));
  CHECK(contains(dot, "label=\"linear_ln_relu\\n"));
  CHECK(contains(dot, "label=\"mix_experts\\n"));
  CHECK(contains(dot, "label=\"stop_gradient\\n"));  // the gates' detached input, a constant
  // Every parameter that takes part appears once, by its name.
  for (const auto& [name, p] : model.named_parameters())
    if (name.rfind("gate.", 0) == 0 || name.rfind("tower.", 0) == 0)
      CHECK_MESSAGE(contains(dot, "label=\"" + name + "\\n"), name);

  loss.backward(/*retain_graph=*/true);
  const std::string after = to_dot(loss);
  CHECK(std::count(after.begin(), after.end(), '\n') == std::count(dot.begin(), dot.end(), '\n'));
  CHECK(contains(after, "label=\"gate.0.0.weight\\n[10,3]\\ngrad\""));
}

TEST_CASE("a shape error inside a model names the module it happened in") {
  Rng rng(3);
  Net net(rng);
  // Layer 2 gets a weight of the wrong shape: the op fails inside layers.2.
  Var w = static_cast<nn::Linear&>(*net.layers().children()[2].second).weight();
  w.value() = Tensor::Zero(7, 2);
  const Var x(Tensor::Ones(5, 4));
  try {
    net.forward(x);
    FAIL("no error");
  } catch (const nn::ModuleError& e) {
    CHECK(e.path() == "layers.2");
    CHECK(e.module_type() == "Linear");
    CHECK(&e.where() == &net);
    CHECK(e.message().rfind("linear: inner dimensions differ", 0) == 0);
    CHECK(std::string(e.what()) == "in module 'layers.2' (Linear): " + e.message());
  }
  // Still a std::invalid_argument for code that catches those.
  CHECK_THROWS_AS(net.forward(x), std::invalid_argument);
  // Called on the Sequential itself, the path starts there.
  CHECK(error_of([&] { net.layers().forward(x); }).rfind("in module '2' (Linear): linear: ", 0) == 0);
  // An error of the called module itself keeps its message.
  nn::Linear lone(4, 3, rng);
  CHECK(error_of([&] { lone.forward(Var(Tensor::Ones(2, 5))); }) ==
        "Linear(4->3): input is [2,5], expected [B,4]");
  // A wrong input to the first layer: its own check, one level down.
  CHECK(error_of([&] { net.forward(Var(Tensor::Ones(2, 3))); }) ==
        "in module 'layers.0' (Linear): Linear(4->6): input is [2,3], expected [B,4]");
}

TEST_CASE("a shape error deep inside M3oE names the gate it happened in") {
  Rng rng(4);
  M3oE model(small_config(2, 2), rng);
  data::Batch b = testing::random_batch(model.config().schema, 32, rng);
  for (std::size_t i = 0; i < b.domain.size(); ++i) b.domain[i] = std::int32_t(i % 2);
  Var w = model.parameter("gate.1.0.weight");
  w.value() = Tensor::Zero(11, 3);  // the gate reads h[n,10]
  const std::string msg = error_of([&] { model.forward(b); });
  INFO(msg);
  CHECK(msg.rfind("in module 'gate.1.0' (Linear): ", 0) == 0);
  CHECK(contains(msg, "inner dimensions differ"));
}

TEST_CASE("Tanh and Sigmoid modules") {
  Rng rng(5);
  const Tensor v = Tensor::Random(3, 4);
  nn::Tanh t;
  nn::Sigmoid s;
  CHECK(t.forward(Var(v)).value() == tanh(Var(v)).value());
  CHECK(s(Var(v)).value() == sigmoid(Var(v)).value());
  CHECK(t.type_name() == "Tanh");
  CHECK(s.num_parameters() == 0);
  Net net(rng);
  const std::string printed = net.to_string();
  INFO(printed);
  CHECK(contains(printed, "(1): Tanh()"));
  CHECK(contains(printed, "(3): Sigmoid()"));
  // Gradients flow through them like through the ops.
  Var x(v, true);
  sum(s(t(x))).backward();
  Var x2(v, true);
  sum(sigmoid(tanh(x2))).backward();
  CHECK(x.grad() == x2.grad());
}
