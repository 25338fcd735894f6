// Helpers shared by the kernel tests: seeded random arrays and comparisons.
#pragma once

#include "autograd/tensor.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace m3oe::test {

using Array = std::vector<real>;

// n values uniform in [lo, hi), from a fixed seed.
inline Array random_array(std::size_t n, unsigned seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Array a(n);
  for (auto& v : a) v = real(dist(rng));
  return a;
}

// Largest |x|, at least 1e-30 so that it can divide.
inline double max_abs(const Array& a) {
  double m = 1e-30;
  for (real v : a) m = std::max(m, double(std::abs(v)));
  return m;
}

// Every |got - want| <= tol, else a message naming the first bad cell.
inline void require_close(const Array& got, const Array& want, double tol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(double(got[i]) - double(want[i]));
    if (!(d <= tol)) {
      FAIL(what << ": element " << i << " is " << got[i] << ", reference " << want[i]
                << " (|diff| " << d << " > tol " << tol << ")");
    }
  }
}

// Bitwise equality (for the thread-count independence tests).
inline void require_same_bits(const Array& x, const Array& y, const std::string& what) {
  REQUIRE(x.size() == y.size());
  const bool same = std::memcmp(x.data(), y.data(), x.size() * sizeof(real)) == 0;
  if (!same) {
    std::size_t i = 0;
    while (i < x.size() && std::memcmp(&x[i], &y[i], sizeof(real)) == 0) ++i;
    FAIL(what << ": results differ between thread counts at element " << i << " (" << x[i]
              << " vs " << y[i] << ")");
  }
}

// Machine epsilon of the build's scalar.
inline constexpr double kEps = std::is_same_v<real, float> ? 1.1920929e-7 : 2.220446e-16;

}  // namespace m3oe::test
