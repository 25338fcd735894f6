#include "layers/init.hpp"

#include <cmath>

namespace m3oe::nn::init {

Tensor uniform(Index rows, Index cols, double bound, Rng& rng) {
  Tensor t(rows, cols);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<real>(rng.uniform(-bound, bound));
  return t;
}

Tensor normal(Index rows, Index cols, double mean, double std, Rng& rng) {
  Tensor t(rows, cols);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<real>(rng.normal(mean, std));
  return t;
}

double linear_bound(Index fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }

Tensor xavier_uniform(Index fan_in, Index fan_out, Rng& rng) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform(fan_in, fan_out, bound, rng);
}

}  // namespace m3oe::nn::init
