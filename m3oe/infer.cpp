#include "m3oe/infer.hpp"

#include "autograd/backend/backend.hpp"
#include "autograd/backend/threads.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

namespace m3oe {

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

}  // namespace

Index infer_slice_rows(Index rows) {
  const Index even = (rows + kInferSlices - 1) / kInferSlices;  // ceil(rows / slices)
  return std::clamp(even, kInferMinSliceRows, kInferMaxSliceRows);
}

Tensor infer_probs(const RecModel& model, const data::Batch& batch) {
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
    return model.forward(batch).probs.value();

  Tensor probs(rows, model.num_tasks());
  std::exception_ptr error;  // the first slice's failure, rethrown below
  std::mutex error_mutex;
  run_pieces(slices, num_threads(), [&](std::ptrdiff_t p) {
    try {
      // Graph recording is a per-thread switch: off on this thread too.
      NoGradGuard slice_no_grad;
      const Index begin = Index(p) * slice, n = std::min(slice, rows - begin);
      const data::Batch part = slice_rows(batch, begin, n);
      probs.middleRows(begin, n) = model.forward(part).probs.value();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
  return probs;
}

}  // namespace m3oe
