// Module: parameter names and order, state dicts, train/eval, printing.
#include "layers/blocks.hpp"
#include "layers/linear.hpp"
#include "layers/module.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace m3oe;

namespace {
// own parameters a, b; children "first" (Linear) and "list" (two MLPs)
struct Toy : nn::Module {
  explicit Toy(Rng& rng) : nn::Module("Toy") {
    register_module("first", std::make_unique<nn::Linear>(3, 2, rng));
    a = register_parameter("a", Tensor::Constant(1, 1, 2));
    auto& list = register_module("list", std::make_unique<nn::ModuleList>());
    list.append(std::make_unique<nn::MLP>(std::vector<Index>{2, 4}, rng));
    list.append(std::make_unique<nn::MLP>(std::vector<Index>{4, 1}, rng));
    b = register_parameter("b", Tensor::Zero(2, 3), /*requires_grad=*/false);
  }
  Var a, b;
};
}  // namespace

TEST_CASE("named_parameters: own first, then children depth first, dotted like PyTorch") {
  Rng rng(1);
  Toy toy(rng);
  std::vector<std::string> names;
  for (auto& [n, p] : toy.named_parameters()) names.push_back(n);
  const std::vector<std::string> expected = {
      "a", "b", "first.weight", "first.bias",
      "list.0.domain_specific.0.weight", "list.0.domain_specific.0.bias",
      "list.0.domain_specific.1.weight", "list.0.domain_specific.1.bias",
      "list.1.domain_specific.0.weight", "list.1.domain_specific.0.bias",
      "list.1.domain_specific.1.weight", "list.1.domain_specific.1.bias"};
  CHECK(names == expected);
  // 1 + 6 + (3*2 + 2) + (2*4 + 4 + 4 + 4) + (4*1 + 1 + 1 + 1)
  CHECK(toy.num_parameters() == 1 + 6 + 8 + 20 + 7);
  CHECK(toy.num_parameters(/*trainable_only=*/true) == 1 + 8 + 20 + 7);
  CHECK(toy.parameter("first.weight").rows() == 3);
  CHECK(toy.parameter("first.weight").cols() == 2);
  CHECK(toy.has_parameter("list.1.domain_specific.1.bias"));
  CHECK_FALSE(toy.has_parameter("list.2.domain_specific.1.bias"));
  CHECK_THROWS_AS(toy.parameter("nope"), std::out_of_range);
}

TEST_CASE("registration rejects dotted, empty and duplicate names") {
  struct Bad : nn::Module {
    Bad() : nn::Module("Bad") {}
    void add(const std::string& n) { register_parameter(n, Tensor::Zero(1, 1)); }
  } bad;
  bad.add("x");
  CHECK_THROWS_AS(bad.add("x"), std::invalid_argument);
  CHECK_THROWS_AS(bad.add("a.b"), std::invalid_argument);
  CHECK_THROWS_AS(bad.add(""), std::invalid_argument);
}

TEST_CASE("state dict round trip restores values and keeps the parameter Vars") {
  Rng rng1(1), rng2(2);
  Toy src(rng1), dst(rng2);
  const Var w_before = dst.parameter("first.weight");
  CHECK(src.parameter("first.weight").value() != dst.parameter("first.weight").value());
  const NamedTensors state = src.state_dict();
  REQUIRE(state.size() == src.named_parameters().size());
  dst.load_state_dict(state);
  for (auto& [name, p] : src.named_parameters()) CHECK(dst.parameter(name).value() == p.value());
  // The same node: an optimizer holding the old Var sees the new values.
  CHECK(dst.parameter("first.weight").node() == w_before.node());
  CHECK(w_before.value() == src.parameter("first.weight").value());
}

TEST_CASE("bad state dicts throw, name every problem and change nothing") {
  Rng rng(1);
  Toy toy(rng);
  const NamedTensors good = toy.state_dict();
  const Tensor before = toy.parameter("a").value();

  auto message_of = [&](const NamedTensors& s) {
    try {
      toy.load_state_dict(s);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  NamedTensors missing(good.begin() + 1, good.end());
  CHECK(message_of(missing).find("missing 'a'") != std::string::npos);

  NamedTensors extra = good;
  extra.emplace_back("list.7.weight", Tensor::Zero(2, 2));
  CHECK(message_of(extra).find("unexpected 'list.7.weight'") != std::string::npos);

  NamedTensors shape = good;
  shape[0].second = Tensor::Constant(2, 1, 9);  // "a" is [1,1]
  const std::string msg = message_of(shape);
  CHECK(msg.find("shape of 'a'") != std::string::npos);
  CHECK(msg.find("[2,1]") != std::string::npos);

  NamedTensors dup = good;
  dup.push_back(good[0]);
  dup[0].second(0, 0) = 7;
  CHECK(message_of(dup).find("duplicate 'a'") != std::string::npos);

  CHECK(toy.parameter("a").value() == before);  // all-or-nothing
}

TEST_CASE("zero_grad clears gradients; train/eval is recursive") {
  Rng rng(1);
  Toy toy(rng);
  Var a = toy.parameter("a");
  Var w = toy.parameter("first.weight");
  a.node()->grad_buffer().setOnes();
  w.node()->grad_buffer().setOnes();
  REQUIRE(a.has_grad());
  toy.zero_grad();
  CHECK_FALSE(a.has_grad());
  CHECK_FALSE(w.has_grad());

  CHECK(toy.is_training());
  toy.eval();
  CHECK_FALSE(toy.is_training());
  for (auto& [name, child] : toy.children()) CHECK_FALSE(child->is_training());
  toy.train();
  for (auto& [name, child] : toy.children()) CHECK(child->is_training());
}

TEST_CASE("printing shows every layer, shapes and counts") {
  Rng rng(1);
  Toy toy(rng);
  const std::string s = toy.to_string();
  CHECK(s.find("(first): Linear(in_features=3, out_features=2, bias=True)  # 8 params") !=
        std::string::npos);
  CHECK(s.find("(a): Parameter[1,1]") != std::string::npos);
  CHECK(s.find("(b): Parameter[2,3] frozen") != std::string::npos);
  CHECK(s.find("(1): LayerNorm((4,), eps=1e-05, elementwise_affine=True)  # 8 params") !=
        std::string::npos);
  CHECK(s.find("(2): ReLU()") != std::string::npos);
  CHECK(s.find("Total parameters: 42 (trainable 36)") != std::string::npos);
  CHECK(nn::with_commas(788146) == "788,146");
  CHECK(nn::with_commas(999) == "999");
  CHECK(nn::with_commas(1000) == "1,000");
}
