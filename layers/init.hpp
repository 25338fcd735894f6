// init.hpp: parameter initialisers, each drawing from the run's Rng.
//
// The formulas are PyTorch's (torch.nn.init); the random streams are ours
// (m3oe::Rng), so values differ from PyTorch's for the same seed while the
// distributions are the same. Parity with PyTorch therefore copies weights
// (tests/layers/test_parity.cpp) instead of re-drawing them.
#pragma once

#include "autograd/rng.hpp"
#include "autograd/tensor.hpp"

namespace m3oe::nn::init {

// Every entry ~ U(-bound, bound).
Tensor uniform(Index rows, Index cols, double bound, Rng& rng);
// Every entry ~ N(mean, std^2).
Tensor normal(Index rows, Index cols, double mean, double std, Rng& rng);

// nn.Linear's default: kaiming_uniform_(a = sqrt(5)) on the weight. With
// gain = sqrt(2 / (1 + a^2)) = sqrt(1/3) the bound gain * sqrt(3 / fan_in)
// is 1/sqrt(fan_in); the bias uses the same bound. fan_in = in_features.
double linear_bound(Index fan_in);
// xavier_uniform_ (gain 1): U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
// For a weight used as x[B,in] @ W[in,out], fan_in = in and fan_out = out
// (the formula is symmetric, so PyTorch's [out,in] layout gives the same b).
Tensor xavier_uniform(Index fan_in, Index fan_out, Rng& rng);

}  // namespace m3oe::nn::init
