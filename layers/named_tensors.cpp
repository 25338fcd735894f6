#include "layers/named_tensors.hpp"

#include <stdexcept>

namespace m3oe {

const Tensor* find_tensor(const NamedTensors& tensors, std::string_view name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

const Tensor& get_tensor(const NamedTensors& tensors, std::string_view name,
                         std::string_view where) {
  if (const Tensor* t = find_tensor(tensors, name)) return *t;
  throw std::out_of_range(std::string(where) + ": no tensor named '" + std::string(name) + "' (" +
                          std::to_string(tensors.size()) + " tensors present)");
}

}  // namespace m3oe
