// named_tensors.hpp: an ordered list of (name, tensor) pairs.
//
// The exchange format of everything that is saved or compared by name: a
// module's state dict, an optimizer's state, the tensor files of
// m3oe/io/tensor_file.hpp (checkpoints, the PyTorch parity fixture).
#pragma once

#include "autograd/tensor.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace m3oe {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The tensor called `name`, or nullptr.
const Tensor* find_tensor(const NamedTensors& tensors, std::string_view name);
// The tensor called `name`; throws std::out_of_range naming it and `where`
// (a file name, "state dict", ...) if it is absent.
const Tensor& get_tensor(const NamedTensors& tensors, std::string_view name,
                         std::string_view where);

}  // namespace m3oe
