// containers.hpp: modules that hold other modules or parameters, and the
// parameter-free activations.
//
//   UnaryModule    a module with Var forward(Var): the layers a Sequential chains
//   Sequential     runs its children in order; children are named 0, 1, 2, ...
//   ModuleList     an indexed list of modules (experts, gates, towers): 0, 1, ...
//   ModuleDict     modules under chosen names (one embedding table per feature)
//   ParameterList  an indexed list of parameters (the per-domain STAR weights)
//   ReLU, Softmax  activations as modules, so that indices inside a Sequential
//   Tanh, Sigmoid  match PyTorch's (tower.0 = Linear, tower.1 = LayerNorm,
//                  tower.2 = ReLU, tower.3 = Linear)
#pragma once

#include "layers/module.hpp"

#include <memory>
#include <string>

namespace m3oe::nn {

class UnaryModule : public Module {
 public:
  using Module::Module;
  virtual Var forward(const Var& x) = 0;
  Var operator()(const Var& x) { return forward(x); }
};

class Sequential : public UnaryModule {
 public:
  Sequential() : UnaryModule("Sequential") {}
  // Appends `layer` under the next index and returns it.
  template <class M>
  M& append(std::unique_ptr<M> layer) {
    M& ref = *layer;
    layers_.push_back(&ref);
    register_module(std::to_string(layers_.size() - 1), std::move(layer));
    return ref;
  }
  Var forward(const Var& x) override;
  std::size_t size() const { return layers_.size(); }

 protected:
  explicit Sequential(std::string type_name) : UnaryModule(std::move(type_name)) {}

 private:
  std::vector<UnaryModule*> layers_;
};

class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  template <class M>
  M& append(std::unique_ptr<M> m) {
    return register_module(std::to_string(children().size()), std::move(m));
  }
  std::size_t size() const { return children().size(); }
};

class ModuleDict : public Module {
 public:
  ModuleDict() : Module("ModuleDict") {}
  template <class M>
  M& insert(std::string name, std::unique_ptr<M> m) {
    return register_module(std::move(name), std::move(m));
  }
};

class ParameterList : public Module {
 public:
  ParameterList() : Module("ParameterList") {}
  Var append(Tensor value) {
    items_.push_back(register_parameter(std::to_string(items_.size()), std::move(value)));
    return items_.back();
  }
  const Var& operator[](std::size_t i) const { return items_.at(i); }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<Var> items_;
};

class ReLU : public UnaryModule {
 public:
  ReLU() : UnaryModule("ReLU") {}
  Var forward(const Var& x) override;
};

class Tanh : public UnaryModule {
 public:
  Tanh() : UnaryModule("Tanh") {}
  Var forward(const Var& x) override;
};

class Sigmoid : public UnaryModule {
 public:
  Sigmoid() : UnaryModule("Sigmoid") {}
  Var forward(const Var& x) override;
};

// Softmax over each row (PyTorch's Softmax(dim=1) on [B,N]).
class Softmax : public UnaryModule {
 public:
  Softmax() : UnaryModule("Softmax") {}
  Var forward(const Var& x) override;
  std::string extra_repr() const override { return "dim=1"; }
};

}  // namespace m3oe::nn
