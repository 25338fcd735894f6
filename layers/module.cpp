#include "layers/module.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace m3oe::nn {

// ---- registration ----------------------------------------------------------

void Module::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw std::invalid_argument(type_name_ + ": bad member name '" + name +
                                "' (must be non-empty and contain no '.')");
  for (const auto& [n, p] : params_)
    if (n == name) throw std::invalid_argument(type_name_ + ": name '" + name + "' used twice");
  for (const auto& [n, c] : children_)
    if (n == name) throw std::invalid_argument(type_name_ + ": name '" + name + "' used twice");
}

Var Module::register_parameter(std::string name, Tensor value, bool requires_grad) {
  check_new_name(name);
  Var p(std::move(value), requires_grad);
  p.set_name(prefix() + name);  // its dotted name in the tree built so far
  params_.emplace_back(std::move(name), p);
  return p;
}

void Module::add_child(std::string name, std::unique_ptr<Module> child) {
  check_new_name(name);
  if (!child) throw std::invalid_argument(type_name_ + ": child '" + name + "' is null");
  // Name the child's parameters by their dotted path from the top of the
  // tree built so far. Trees are built both bottom-up (a child filled, then
  // added) and top-down (an empty ModuleList added, then filled): renaming
  // the subtree at each registration gets the root's names either way.
  child->parent_ = this;
  child->name_in_parent_ = name;
  const std::string child_prefix = child->prefix();
  for (const auto& [relative, p] : child->named_parameters()) p.set_name(child_prefix + relative);
  children_.emplace_back(std::move(name), std::move(child));
}

std::string Module::prefix() const {
  std::string out;
  for (const Module* m = this; m->parent_ != nullptr; m = m->parent_)
    out = m->name_in_parent_ + "." + out;
  return out;
}

std::optional<std::string> Module::path_to(const Module& m) const {
  if (&m == this) return std::string();
  for (const auto& [name, child] : children_)
    if (auto rest = child->path_to(m)) return rest->empty() ? name : name + "." + *rest;
  return std::nullopt;
}

// ---- errors with the module path --------------------------------------------

namespace {
std::string module_error_text(const std::string& path, const std::string& type,
                              const std::string& message) {
  if (path.empty()) return message;  // the called module itself: nothing to add
  return "in module '" + path + "' (" + type + "): " + message;
}
}  // namespace

ModuleError::ModuleError(const Module& where, std::string path, std::string module_type,
                         std::string message)
    : std::invalid_argument(module_error_text(path, module_type, message)),
      where_(&where),
      path_(std::move(path)),
      module_type_(std::move(module_type)),
      message_(std::move(message)) {}

void rethrow_in_module(const Module& m) {
  try {
    throw;
  } catch (const ModuleError& e) {
    const std::optional<std::string> to_inner = m.path_to(e.where());
    if (!to_inner || to_inner->empty()) throw;  // not below m: leave it as it is
    const std::string path = e.path().empty() ? *to_inner : *to_inner + "." + e.path();
    throw ModuleError(m, path, e.module_type(), e.message());
  } catch (const std::invalid_argument& e) {
    throw ModuleError(m, "", m.type_name(), e.what());
  }
}

// ---- parameters ------------------------------------------------------------

void Module::collect(const std::string& prefix, NamedParameters& out) const {
  for (const auto& [name, p] : params_) out.emplace_back(prefix + name, p);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

NamedParameters Module::named_parameters() const {
  NamedParameters out;
  collect("", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

bool Module::has_parameter(std::string_view dotted_name) const {
  for (const auto& [name, p] : named_parameters())
    if (name == dotted_name) return true;
  return false;
}

Var Module::parameter(std::string_view dotted_name) const {
  for (const auto& [name, p] : named_parameters())
    if (name == dotted_name) return p;
  throw std::out_of_range(type_name_ + " has no parameter named '" + std::string(dotted_name) +
                          "'");
}

Index Module::num_parameters(bool trainable_only) const {
  Index n = 0;
  for (const auto& [name, p] : named_parameters())
    if (!trainable_only || p.requires_grad()) n += p.value().size();
  return n;
}

void name_parameters(const Module& root) {
  for (const auto& [name, p] : root.named_parameters()) p.set_name(name);
}

void Module::zero_grad() {
  for (const auto& [name, p] : named_parameters()) p.zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

// ---- state dict ------------------------------------------------------------

NamedTensors Module::state_dict() const {
  NamedTensors out;
  for (const auto& [name, p] : named_parameters()) out.emplace_back(name, p.value());
  return out;
}

void Module::load_state_dict(const NamedTensors& state) {
  const NamedParameters params = named_parameters();
  std::map<std::string, const Tensor*> given;
  std::vector<std::string> problems;
  for (const auto& [name, t] : state)
    if (!given.emplace(name, &t).second) problems.push_back("duplicate '" + name + "'");
  std::set<std::string> known;
  for (const auto& [name, p] : params) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      problems.push_back("missing '" + name + "' " + shape_str(p.value()));
    } else if (it->second->rows() != p.rows() || it->second->cols() != p.cols()) {
      problems.push_back("shape of '" + name + "': given " + shape_str(*it->second) +
                         ", model has " + shape_str(p.value()));
    }
  }
  for (const auto& [name, t] : state)
    if (!known.count(name)) problems.push_back("unexpected '" + name + "' " + shape_str(t));
  if (!problems.empty()) {
    std::string msg = type_name_ + "::load_state_dict: " + std::to_string(problems.size()) +
                      " problem(s), nothing loaded:";
    const std::size_t shown = std::min<std::size_t>(problems.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) msg += "\n  " + problems[i];
    if (shown < problems.size())
      msg += "\n  ... and " + std::to_string(problems.size() - shown) + " more";
    throw std::invalid_argument(msg);
  }
  for (const auto& [name, p] : params) {
    Var v = p;
    v.value() = *given.at(name);
  }
}

// ---- printing --------------------------------------------------------------

std::string with_commas(Index n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

namespace {
std::string params_note(Index n) { return n == 0 ? "" : "  # " + with_commas(n) + " params"; }
}  // namespace

void Module::print(std::string& out, int indent) const {
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  const std::string repr = extra_repr();
  if (children_.empty() && !repr.empty()) {
    // A leaf layer: its parameters are described by its repr and counted.
    out += type_name_ + "(" + repr + ")" + params_note(num_parameters());
    for (const auto& [name, p] : params_)
      if (!p.requires_grad()) out += " (" + name + " frozen)";
    return;
  }
  out += type_name_ + "(" + params_note(num_parameters());
  if (params_.empty() && children_.empty()) {
    out += ")";
    return;
  }
  out += "\n";
  for (const auto& [name, p] : params_)
    out += pad + "(" + name + "): Parameter" + shape_str(p.value()) +
           (p.requires_grad() ? "" : " frozen") + "\n";
  for (const auto& [name, child] : children_) {
    out += pad + "(" + name + "): ";
    child->print(out, indent + 2);
    out += "\n";
  }
  out += std::string(static_cast<std::size_t>(indent), ' ') + ")";
}

std::string Module::to_string() const {
  std::string out;
  print(out, 0);
  out += "\nTotal parameters: " + with_commas(num_parameters()) + " (trainable " +
         with_commas(num_parameters(true)) + ")\n";
  return out;
}

}  // namespace m3oe::nn
