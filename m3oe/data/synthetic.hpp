// synthetic.hpp: a multi-domain multi-task data set with known structure.
//
// Every row draws a domain d, sparse ids v_f (uniform over each vocabulary)
// and dense values x_j ~ U(0,1). Its label for task t is a coin flip with
// probability sigmoid(logit), where
//
//   logit[d,t] = bias[d,t] + s(x) + g_d(x) + h_t(x) + noise * N(0,1)
//
//   s(x)   the shared signal, the same for every (domain, task) cell
//   g_d(x) a signal only domain d has          (weights of its own per domain)
//   h_t(x) a signal only task t has            (weights of its own per task)
//
// each of s, g_d, h_t being a sum of per-id effects and linear dense terms
// with unit variance, scaled by shared_scale, domain_scale, task_scale. A
// single shared model can only learn s (plus what the domain id feature
// lets it learn by itself); a model with domain- and task-specific parts can
// learn all three, so it should win in every cell. docs/data.md has the
// exact formulas. Everything comes from `seed` (std::mt19937_64 with
// hand-written transforms, see rng.hpp), so a seed gives the same data set
// on every platform.
#pragma once

#include "m3oe/data/dataset.hpp"

#include <cstdint>
#include <vector>

namespace m3oe::data {

struct SyntheticOptions {
  int domains = 3;
  int tasks = 2;
  std::int64_t rows = 60000;
  std::vector<std::int32_t> sparse_vocab = {500, 200, 20};  // one sparse feature each
  int dense = 2;
  bool domain_feature = true;          // add the domain id as a sparse feature (like ML-1M)
  std::vector<double> domain_weights;  // relative domain sizes; empty = equal
  double shared_scale = 1.0;  // standard deviation of s(x)
  double domain_scale = 0.8;  // ... of g_d(x)
  double task_scale = 0.8;    // ... of h_t(x)
  double bias_scale = 0.5;    // bias[d,t] ~ N(0, bias_scale^2): different label rates per cell
  double noise = 0.3;         // standard deviation of the logit noise
  double train_fraction = 0.8;
  double valid_fraction = 0.1;  // test = the rest (rows are i.i.d., no shuffle needed)
  std::uint64_t seed = 2022;
};

// The generating model's values, for tests and for measuring how close a
// trained model gets to the best possible one. Rows in the order
// train, then valid, then test.
struct SyntheticTruth {
  std::vector<float> bias;         // [D, T]
  std::vector<float> shared;       // [rows]     s(x)
  std::vector<float> domain_part;  // [rows]     g_d(x) for the row's domain d
  std::vector<float> task_part;    // [rows, T]  h_t(x)
  std::vector<float> logit;        // [rows, T]  bias + s + g_d + h_t (noise left out)
};

// Throws std::invalid_argument on a bad option (naming it).
Splits make_synthetic(const SyntheticOptions& options = {}, SyntheticTruth* truth = nullptr);

}  // namespace m3oe::data
