// rng.hpp: the one random number generator of m3oe.cpp (autograd/ holds it so
// that layers/ and everything above can draw from it).
//
// Every random choice (weight init, synthetic data, shuffles) draws from an
// Rng built from the run's seed, so one seed reproduces a whole run.
//
// The engine is std::mt19937_64, whose output sequence the C++ standard fixes
// exactly. The distributions on top of it are written here on purpose: the
// standard's std::uniform_real_distribution / std::normal_distribution leave
// the algorithm to the library, so libstdc++ and libc++ give different numbers
// for the same seed. Ours give the same numbers everywhere.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace m3oe {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // 64 uniformly random bits.
  std::uint64_t next_u64() { return engine_(); }
  // Uniform in [0,1): the top 53 bits scaled by 2^-53 (every double of that
  // grid equally likely).
  double uniform();
  // Uniform in [lo,hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by the Box-Muller transform; each call pair shares one
  // (u1,u2) draw, the second value is kept for the next call.
  double normal();
  double normal(double mean, double std) { return mean + std * normal(); }
  // Uniform integer in [0,n), n > 0, without modulo bias (rejection sampling).
  std::uint64_t below(std::uint64_t n);
  // Fisher-Yates shuffle of `items` in place.
  template <class T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(below(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace m3oe
