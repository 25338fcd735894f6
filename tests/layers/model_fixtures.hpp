// Small schemas and random batches for the model tests.
#pragma once

#include "autograd/rng.hpp"
#include "m3oe/data/dataset.hpp"

#include <string>

namespace m3oe::testing {

inline data::Schema small_schema(int domains, int tasks) {
  data::Schema s;
  s.sparse = {{"user", 11}, {"item", 7}, {"cat", 3}};
  s.dense = {"age"};
  for (int t = 0; t < tasks; ++t) s.tasks.push_back("task" + std::to_string(t));
  for (int d = 0; d < domains; ++d) s.domains.push_back("domain" + std::to_string(d));
  return s;
}

// `rows` random rows; domain of row i is domain_of(i) if given, else random.
inline data::Batch random_batch(const data::Schema& s, Index rows, Rng& rng) {
  data::Batch b;
  b.rows = rows;
  for (const auto& f : s.sparse) {
    IndexList ids(static_cast<std::size_t>(rows));
    for (auto& id : ids) id = static_cast<std::int32_t>(rng.below(std::uint64_t(f.vocab)));
    b.sparse_ids.push_back(ids);
  }
  b.dense = Tensor(rows, static_cast<Index>(s.dense.size()));
  for (Index i = 0; i < b.dense.size(); ++i) b.dense.data()[i] = static_cast<real>(rng.uniform());
  b.domain.resize(static_cast<std::size_t>(rows));
  for (auto& d : b.domain) d = static_cast<std::int32_t>(rng.below(std::uint64_t(s.num_domains())));
  b.labels = Tensor(rows, s.num_tasks());
  for (Index i = 0; i < b.labels.size(); ++i) b.labels.data()[i] = real(rng.below(2));
  return b;
}

// The rows `ids` of batch b.
inline data::Batch subset(const data::Batch& b, const IndexList& ids) {
  data::Batch out;
  out.rows = static_cast<Index>(ids.size());
  out.sparse_ids.resize(b.sparse_ids.size());
  out.dense = Tensor(out.rows, b.dense.cols());
  out.labels = Tensor(out.rows, b.labels.cols());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto i = static_cast<std::size_t>(ids[k]);
    for (std::size_t f = 0; f < b.sparse_ids.size(); ++f) out.sparse_ids[f].push_back(b.sparse_ids[f][i]);
    out.dense.row(Index(k)) = b.dense.row(Index(i));
    out.labels.row(Index(k)) = b.labels.row(Index(i));
    out.domain.push_back(b.domain[i]);
  }
  return out;
}

}  // namespace m3oe::testing
