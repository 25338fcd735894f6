// tensor_file.hpp: a small versioned binary file of named tensors.
//
// Used for checkpoints and for the PyTorch parity fixture
// (tests/data/parity_m3oe.bin, written by scripts/parity_reference.py).
// Layout, all integers little-endian:
//
//   magic    8 bytes  "M3OETNSR"
//   version  u32      kTensorFileVersion
//   count    u32      number of tensors
//   count times:
//     name_len u32, name (name_len bytes, UTF-8)
//     dtype    u32    0 = f32: rows*cols float32
//                     1 = q16: a float32 scale, then rows*cols int16 q;
//                         the value is float(q) * scale, rounded to float32
//                     2 = q8: the same with int8 q
//     rows u32, cols u32
//     data
//
// Data is row-major. q16 and q8 shrink test fixtures; the writer here writes f32.
#pragma once

#include "layers/named_tensors.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace m3oe::io {

inline constexpr std::uint32_t kTensorFileVersion = 1;

// Thrown when the file is a tensor file of another version.
struct TensorFileVersionError : std::runtime_error {
  TensorFileVersionError(const std::string& msg, std::uint32_t found)
      : std::runtime_error(msg), found_version(found) {}
  std::uint32_t found_version;
};

// Reads every tensor. Throws TensorFileVersionError for another version and
// std::runtime_error naming the file (and the tensor and byte offset) for a
// missing, foreign, truncated or malformed file.
NamedTensors read_tensor_file(const std::string& path);
// Writes f32 tensors atomically: to path + ".tmp", then renamed over path.
void write_tensor_file(const std::string& path, const NamedTensors& tensors);

}  // namespace m3oe::io
