// infer.hpp: inference on a batch, its rows split across threads.
//
// At inference every row is independent of the others (no gradient, no batch
// statistics), so a batch can be cut into slices of rows that run side by
// side, one slice per thread, each through the model's ordinary forward with
// single-threaded kernels. At small batches this is much faster than sharing
// every product between the threads: a 256-row M3oE batch has about 85 rows
// per domain, and its many small products leave one thread waiting for the
// other at each product's end (docs/performance.md, "Inference").
//
// The slices are fixed by the batch size alone (infer_slice_rows), never by
// the thread count, so the probabilities are the same bits for any number of
// threads. They can differ from one forward over the whole batch in the last
// bits: a product's size picks its kernel (see the tiny-product rule in
// autograd/backend/cpu.cpp).
//
// Over many batches with the same parameters (an evaluation pass, a server)
// use a Predictor: it computes what depends on the parameters alone (M3oE's
// experts' weights side by side, STAR's W_d ⊙ W_sh, the fusion coefficients;
// RecModel::precompute) once, not once per slice of every batch, and redoes
// it when a parameter has been written since (Var::version).
#pragma once

#include "m3oe/model_interface.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace m3oe {

// Rows per slice: the batch in kInferSlices slices, each of at least
// kInferMinSliceRows rows (so a 256-row batch makes two) and at most
// kInferMaxSliceRows (a slice's activations then stay in L2).
inline constexpr Index kInferSlices = 8;
inline constexpr Index kInferMinSliceRows = 128;
inline constexpr Index kInferMaxSliceRows = 640;

// Rows per slice for a batch of `rows` rows (the last slice may be shorter).
Index infer_slice_rows(Index rows);

// The probabilities [B,T] of `batch` (row i, task t: cell (domain(i), t)),
// computed without a graph. In eval mode with the CPU backend it runs the
// slices on num_threads() threads. In training mode (where a layer may use
// the batch's statistics, so rows are not independent) or with another
// backend (the CUDA plugin) it runs one forward over the whole batch.
// Each slice computes the parameter-only values itself (side by side on the
// threads); a Predictor computes them once for many batches.
Tensor infer_probs(const RecModel& model, const data::Batch& batch);

// infer_probs for many batches, the parameter-only values computed once:
//   Predictor predictor(model);
//   for (...) probs = predictor.probs(batch);
// The same probabilities as infer_probs, bit for bit. A parameter written
// between two batches (through Var::value(): optimizer steps, loads) makes
// the next batch recompute them; the model must outlive the Predictor.
class Predictor {
 public:
  explicit Predictor(const RecModel& model);
  Tensor probs(const data::Batch& batch);
  // How many times the parameter-only values were computed (for tests).
  int refreshes() const { return refreshes_; }

 private:
  std::uint64_t parameters_version() const;

  const RecModel& model_;
  std::vector<Var> parameters_;
  std::uint64_t version_ = 0;  // parameters_version() when pre_ was computed
  std::unique_ptr<const RecModel::Precomputed> pre_;  // nullptr for a model without such values
  int refreshes_ = 0;  // 0: pre_ not computed yet
};

}  // namespace m3oe
