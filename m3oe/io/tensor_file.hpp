// tensor_file.hpp: the one binary file format of named tensors.
//
// Checkpoints (m3oe/train/checkpoint.hpp) are tensor files with metadata; the
// PyTorch parity fixture (tests/data/parity_m3oe.bin, written by
// scripts/parity_reference.py) is a version-1 tensor file.
// Layout, all integers little-endian:
//
//   magic    8 bytes  "M3OETNSR"
//   version  u32      kTensorFileVersion (2) or kReferenceFileVersion (1)
//   version 2 only:
//     meta_len u64, meta (meta_len bytes: `key = value` lines, newlines and
//     backslashes in values escaped as \n and \\), meta_sum u64
//   count    u32      number of tensors
//   count times:
//     name_len u32, name (name_len bytes, UTF-8)
//     dtype    u32    0 = f32: rows*cols float32
//                     1 = q16: a float32 scale, then rows*cols int16 q;
//                         the value is float(q) * scale, rounded to float32
//                     2 = q8: the same with int8 q
//     rows u32, cols u32
//     data
//     version 2 only: sum u64
//
// Data is row-major. `sum` is FNV-1a 64 (m3oe/util/hash.hpp) over the
// tensor's bytes from name_len to the end of its data, so a flipped bit in a
// name, a shape or a value is caught and named; meta_sum covers meta. Every
// length is checked against what is left of the file before anything is
// allocated. Version 1 has neither metadata nor checksums: it is read (only
// the reference fixture uses it) but never written. q16 and q8 shrink test
// fixtures; the writer here writes f32.
#pragma once

#include "layers/named_tensors.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace m3oe::io {

inline constexpr std::uint32_t kTensorFileVersion = 2;
inline constexpr std::uint32_t kReferenceFileVersion = 1;  // read only: no checksums

// Thrown when the file is a tensor file of a version this build cannot read.
struct TensorFileVersionError : std::runtime_error {
  TensorFileVersionError(const std::string& msg, std::uint32_t found)
      : std::runtime_error(msg), found_version(found) {}
  std::uint32_t found_version;
};

struct TensorFile {
  std::uint32_t version = kTensorFileVersion;
  std::map<std::string, std::string> meta;  // empty in version 1
  NamedTensors tensors;
};

// Reads and verifies every tensor. Throws TensorFileVersionError for another
// version and std::runtime_error naming the file (and the tensor and byte
// offset) for a missing, foreign, truncated, damaged or malformed file.
TensorFile read_tensor_file_with_meta(const std::string& path);
NamedTensors read_tensor_file(const std::string& path);
// Writes a version-2 file of f32 tensors atomically (util::write_file_atomic:
// temp file, fsync, rename). Meta keys must not hold '=' or a newline.
void write_tensor_file(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& meta = {});

}  // namespace m3oe::io
