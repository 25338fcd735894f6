// module.hpp: the base of every layer and of the model, after torch.nn.Module.
//
// A Module owns
//   - its own parameters: leaf Vars with requires_grad, each with a name;
//   - its child modules, each with a name.
// named_parameters() lists the module's own parameters first, then every
// child's parameters prefixed with "child_name.", depth first, each in
// registration order: exactly PyTorch's order and naming, so the M3oE model's
// names ("expert.0.domain_specific.0.weight") read like the PyTorch script's.
//
// Modules are neither copyable nor movable: layers keep handles to their
// parameters and children, and parents point at children. Build the model in
// place (M3oE model(config, rng);) or behind a std::unique_ptr.
#pragma once

#include "autograd/node.hpp"
#include "layers/named_tensors.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace m3oe::nn {

using NamedParameters = std::vector<std::pair<std::string, Var>>;

class Module {
 public:
  // `type_name` is what printing shows ("Linear", "LayerNorm", ...).
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const { return type_name_; }

  // ---- parameters --------------------------------------------------------
  NamedParameters named_parameters() const;
  std::vector<Var> parameters() const;
  // Only this module's own parameters (no children), in registration order.
  const NamedParameters& own_parameters() const { return params_; }
  // The parameter with this dotted name; throws std::out_of_range otherwise.
  Var parameter(std::string_view dotted_name) const;
  bool has_parameter(std::string_view dotted_name) const;
  // Number of scalars in all parameters (trainable_only: requires_grad ones).
  Index num_parameters(bool trainable_only = false) const;
  // Forget every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  // ---- children ----------------------------------------------------------
  const std::vector<std::pair<std::string, std::unique_ptr<Module>>>& children() const {
    return children_;
  }

  // ---- train / eval ------------------------------------------------------
  // Recursive, like PyTorch. (No layer of M3oE behaves differently in eval
  // mode: there is no dropout or batch norm; the flag is kept for models
  // that will.)
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- state dict --------------------------------------------------------
  // A copy of every parameter's value, by dotted name, in named_parameters()
  // order.
  NamedTensors state_dict() const;
  // Copies the values into the existing parameters (their Vars, and so an
  // optimizer's references to them, stay the same). All-or-nothing: the
  // state is checked first, and a missing name, an unexpected name, a
  // duplicate or a shape mismatch throws std::invalid_argument listing all
  // problems, without changing any parameter.
  void load_state_dict(const NamedTensors& state);

  // ---- printing ----------------------------------------------------------
  // A tree like PyTorch's print(model), with each parameter's shape and each
  // module's parameter count, ending with the total.
  std::string to_string() const;
  // The text inside "Type(...)" for a leaf, e.g. "in_features=113, ...".
  virtual std::string extra_repr() const { return {}; }

 protected:
  // Adds a parameter (a fresh leaf Var holding `value`). Names may not
  // contain '.' and must be unique among this module's parameters and
  // children.
  Var register_parameter(std::string name, Tensor value, bool requires_grad = true);
  // Takes ownership of `child` and returns it.
  template <class M>
  M& register_module(std::string name, std::unique_ptr<M> child) {
    M& ref = *child;
    add_child(std::move(name), std::move(child));
    return ref;
  }

 private:
  void check_new_name(const std::string& name) const;
  void add_child(std::string name, std::unique_ptr<Module> child);
  void collect(const std::string& prefix, NamedParameters& out) const;
  void print(std::string& out, int indent) const;

  std::string type_name_;
  bool training_ = true;
  NamedParameters params_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
};

// "1,234,567": counts are printed with thousands separators.
std::string with_commas(Index n);

}  // namespace m3oe::nn
