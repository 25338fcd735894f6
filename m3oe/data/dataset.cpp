#include "m3oe/data/dataset.hpp"

#include <numeric>

namespace m3oe::data {

Dataset Dataset::subset(std::span<const std::int64_t> ids) const {
  Dataset out;
  out.schema = schema;
  out.rows = static_cast<std::int64_t>(ids.size());
  const std::size_t ns = schema.sparse.size(), nd = schema.dense.size(), nt = schema.tasks.size();
  out.sparse.resize(ids.size() * ns);
  out.dense.resize(ids.size() * nd);
  out.domain.resize(ids.size());
  out.labels.resize(ids.size() * nt);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::size_t r = static_cast<std::size_t>(ids[i]);
    std::copy_n(&sparse[r * ns], ns, &out.sparse[i * ns]);
    std::copy_n(dense.data() + r * nd, nd, out.dense.data() + i * nd);
    out.domain[i] = domain[r];
    std::copy_n(&labels[r * nt], nt, &out.labels[i * nt]);
  }
  return out;
}

void make_batch(const Dataset& ds, std::span<const std::int64_t> ids, Batch& out) {
  const std::size_t ns = ds.schema.sparse.size(), nd = ds.schema.dense.size(),
                    nt = ds.schema.tasks.size();
  const Index n = static_cast<Index>(ids.size());
  out.rows = n;
  out.sparse_ids.resize(ns);
  for (auto& v : out.sparse_ids) v.resize(ids.size());
  out.dense.resize(n, static_cast<Index>(nd));
  out.domain.resize(ids.size());
  out.labels.resize(n, static_cast<Index>(nt));
  for (Index i = 0; i < n; ++i) {
    const std::size_t r = static_cast<std::size_t>(ids[i]);
    for (std::size_t f = 0; f < ns; ++f) out.sparse_ids[f][i] = ds.sparse[r * ns + f];
    for (std::size_t j = 0; j < nd; ++j) out.dense(i, Index(j)) = real(ds.dense[r * nd + j]);
    out.domain[i] = ds.domain[r];
    for (std::size_t t = 0; t < nt; ++t) out.labels(i, Index(t)) = real(ds.labels[r * nt + t]);
  }
}

Batch make_batch(const Dataset& ds, std::span<const std::int64_t> ids) {
  Batch b;
  make_batch(ds, ids, b);
  return b;
}

}  // namespace m3oe::data
