#include "m3oe/model_interface.hpp"

#include <algorithm>

namespace m3oe {

std::vector<Var> RecModel::weight_parameters() const {
  const std::vector<Var> structure = structure_parameters();
  auto is_structure = [&](const Var& p) {
    return std::any_of(structure.begin(), structure.end(),
                       [&](const Var& s) { return s.node() == p.node(); });
  };
  std::vector<Var> out;
  for (const Var& p : parameters())
    if (p.requires_grad() && !is_structure(p)) out.push_back(p);
  return out;
}

}  // namespace m3oe
