// hash.hpp: FNV-1a 64, the checksum of tensor files and the fingerprint of
// datasets and settings.
//
// FNV-1a: h = 14695981039346656037; for each byte b: h = (h ^ b) * 1099511628211
// (mod 2^64). Not cryptographic: it detects accidental damage (a flipped bit,
// a truncated copy) and tells data sets apart, nothing more. Any single-bit
// change changes the hash, since each step is invertible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace m3oe::util {

inline constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
inline constexpr std::uint64_t kFnvPrime = 1099511628211ull;

// Continues hash `h` over `n` bytes at `data` (start with kFnvOffset).
inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}
inline std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = kFnvOffset) {
  return fnv1a64(s.data(), s.size(), h);
}

// The hash as 16 lowercase hex digits.
inline std::string hex64(std::uint64_t h) {
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[std::size_t(i)] = "0123456789abcdef"[h & 15];
  return s;
}

}  // namespace m3oe::util
