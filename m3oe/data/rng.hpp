// rng.hpp: the data code draws from the library's one Rng (autograd/rng.hpp):
// std::mt19937_64 with hand-written uniform, unbiased below(n), Box-Muller
// normals and a Fisher-Yates shuffle, identical on every platform.
#pragma once

#include "autograd/rng.hpp"

namespace m3oe::data {
using m3oe::Rng;
}  // namespace m3oe::data
