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
#include <optional>
#include <stdexcept>
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
  // The dotted path from this module to `m` in its tree ("" for itself,
  // "expert.1.domain_specific.0"), or nothing if `m` is not in it.
  std::optional<std::string> path_to(const Module& m) const;

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
  // "expert.0.domain_specific.0.": the path from the top of the tree this
  // module is in so far, with a trailing dot ("" at the top).
  std::string prefix() const;
  void add_child(std::string name, std::unique_ptr<Module> child);
  void collect(const std::string& prefix, NamedParameters& out) const;
  void print(std::string& out, int indent) const;

  std::string type_name_;
  bool training_ = true;
  NamedParameters params_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  const Module* parent_ = nullptr;  // set when registered (for parameter names)
  std::string name_in_parent_;
};

// Names every parameter leaf (Var::name(), shown by the graph dump and the
// gradient checker) by its dotted name in `root`'s named_parameters().
// Parameters get these names already as a tree is built (a module names its
// own, a parent prefixes its children's); call this for a module used as
// the root after being built inside another tree, or after renaming.
void name_parameters(const Module& root);

// ---- errors that say in which module they happened --------------------------
//
// A shape error (std::invalid_argument) thrown by an op inside a module's
// forward reaches the caller as a ModuleError, still a std::invalid_argument,
// whose message names the module by its path from the module that was called:
//   in module 'expert.1.domain_specific.0' (Linear): linear: x[8,255] @ w[256,64]: ...
// Each forward that takes part is a function-try-block whose handler calls
// rethrow_in_module(*this):
//
//   Var Linear::forward(const Var& x) try {
//     ...
//   } catch (...) {
//     rethrow_in_module(*this);
//   }
//
// The innermost such module wraps the op's error; each enclosing one finds
// the previous one in its subtree (path_to) and lengthens the path. Nothing
// is paid unless something throws. An error raised by the called module
// itself keeps its message unchanged; other exception types pass through.
class ModuleError : public std::invalid_argument {
 public:
  // `where` is the module the path starts from; `path` leads from it to the
  // module the error happened in (of type `module_type`).
  ModuleError(const Module& where, std::string path, std::string module_type,
              std::string message);
  const Module& where() const { return *where_; }  // valid while that module lives
  const std::string& path() const { return path_; }
  const std::string& module_type() const { return module_type_; }
  // The message of the original error (the op's).
  const std::string& message() const { return message_; }

 private:
  const Module* where_;
  std::string path_, module_type_, message_;
};

// Call from a catch handler inside module `m`'s forward: rethrows the current
// exception, as a ModuleError with the path from `m` when it is a
// std::invalid_argument, unchanged otherwise.
[[noreturn]] void rethrow_in_module(const Module& m);

// "1,234,567": counts are printed with thousands separators.
std::string with_commas(Index n);

}  // namespace m3oe::nn
