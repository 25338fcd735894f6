#include "m3oe/infer.hpp"

#include "autograd/backend/backend.hpp"
#include "autograd/backend/threads.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

namespace m3oe {

Index infer_slice_rows(Index rows) {
  const Index even = (rows + kInferSlices - 1) / kInferSlices;  // ceil(rows / slices)
  return std::clamp(even, kInferMinSliceRows, kInferMaxSliceRows);
}

namespace {

// Rows [begin, begin + n) of `b` as a batch of their own.
data::Batch slice_rows(const data::Batch& b, Index begin, Index n) {
  data::Batch s;
  s.rows = n;
  auto take = [&](const IndexList& v) {
    return IndexList(v.begin() + begin, v.begin() + begin + n);
  };
  s.domain = take(b.domain);
  s.sparse_ids.reserve(b.sparse_ids.size());
  for (const IndexList& ids : b.sparse_ids) s.sparse_ids.push_back(take(ids));
  s.dense = b.dense.middleRows(begin, n);
  if (b.labels.rows() == b.rows) s.labels = b.labels.middleRows(begin, n);
  return s;
}

// The probabilities of `batch` in slices on the threads, each slice's forward
// reusing `pre` (nullptr: each computes the parameter-only values itself).
Tensor probs_in_slices(const RecModel& model, const data::Batch& batch,
                       const RecModel::Precomputed* pre) {
  NoGradGuard no_grad;
  const Index rows = batch.rows;
  if (rows <= 0) throw std::invalid_argument("infer_probs: the batch is empty");
  if (static_cast<Index>(batch.domain.size()) != rows)
    throw std::invalid_argument("infer_probs: batch has " + std::to_string(batch.domain.size()) +
                                " domain ids for " + std::to_string(rows) + " rows");
  const Index slice = infer_slice_rows(rows);
  const Index slices = (rows + slice - 1) / slice;
  // The plain forward for: one slice; a model in training mode (a layer may
  // use the batch's statistics there, as STAR's partitioned normalisation
  // does, so rows are not independent); a backend other than the CPU one (a
  // GPU plugin is driven from one thread).
  if (slices == 1 || model.is_training() || &backend::active() != &backend::default_cpu())
    return model.forward_with(batch, pre).probs.value();

  Tensor probs(rows, model.num_tasks());
  std::exception_ptr error;  // the first slice's failure, rethrown below
  std::mutex error_mutex;
  run_pieces(slices, num_threads(), [&](std::ptrdiff_t p) {
    try {
      // Graph recording is a per-thread switch: off on this thread too.
      NoGradGuard slice_no_grad;
      const Index begin = Index(p) * slice, n = std::min(slice, rows - begin);
      const data::Batch part = slice_rows(batch, begin, n);
      probs.middleRows(begin, n) = model.forward_with(part, pre).probs.value();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
  return probs;
}

}  // namespace

Tensor infer_probs(const RecModel& model, const data::Batch& batch) {
  return probs_in_slices(model, batch, nullptr);
}

Predictor::Predictor(const RecModel& model) : model_(model), parameters_(model.parameters()) {}

std::uint64_t Predictor::parameters_version() const {
  std::uint64_t sum = 0;  // versions only grow: the sum changes when any does
  for (const Var& p : parameters_) sum += p.version();
  return sum;
}

Tensor Predictor::probs(const data::Batch& batch) {
  const std::uint64_t version = parameters_version();
  if (refreshes_ == 0 || version != version_) {
    NoGradGuard no_grad;
    pre_ = model_.precompute();
    version_ = version;
    ++refreshes_;
  }
  return probs_in_slices(model_, batch, pre_.get());
}

}  // namespace m3oe
