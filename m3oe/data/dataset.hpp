// dataset.hpp: the in-memory form of every data source (MovieLens-1M, a
// user's CSV, the synthetic generator) and the mini-batch the model reads.
//
// A sample is one row: some sparse (categorical) features as ids, some dense
// features as floats, the domain it belongs to, and one 0/1 label per task.
// Columns are stored feature-major inside each row (row-major [rows, n]) so a
// batch is a gather of whole rows.
#pragma once

#include "autograd/tensor.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace m3oe::data {

struct SparseFeature {
  std::string name;
  std::int32_t vocab = 0;  // ids are 0..vocab-1 (a reserved "unknown" id included, if any)
};

struct Schema {
  std::vector<SparseFeature> sparse;  // looked up in one embedding table each
  std::vector<std::string> dense;     // appended raw after the embeddings
  std::vector<std::string> tasks;     // one binary label per task: T = tasks.size()
  std::vector<std::string> domains;   // domain names: D = domains.size()
  std::string domain_column;          // the column that gave the domain (for messages)

  int num_domains() const { return static_cast<int>(domains.size()); }
  int num_tasks() const { return static_cast<int>(tasks.size()); }
};

struct Dataset {
  Schema schema;
  std::int64_t rows = 0;
  std::vector<std::int32_t> sparse;  // [rows, schema.sparse.size()]
  std::vector<float> dense;          // [rows, schema.dense.size()]
  std::vector<std::int32_t> domain;  // [rows], each in 0..D-1
  std::vector<float> labels;         // [rows, T], each 0 or 1

  // The rows `ids` (in that order) as a new dataset with the same schema.
  Dataset subset(std::span<const std::int64_t> ids) const;
};

// Train / validation / test, and how they were made (named in every result).
struct Splits {
  Dataset train, valid, test;
  std::string description;  // e.g. "ml-1m, authors' order 80/10/10"
  // Legal but suspicious things about the data (e.g. a MovieLens copy with
  // fewer ratings than the published one), one sentence each; m3oe train
  // prints them as warnings.
  std::vector<std::string> warnings;
};

// One mini-batch in the layout the model consumes.
struct Batch {
  std::int64_t rows = 0;
  std::vector<IndexList> sparse_ids;  // one [rows] id list per sparse feature
  Tensor dense;                       // [rows, n_dense]
  IndexList domain;                   // [rows]
  Tensor labels;                      // [rows, T]
};

// Gathers the rows `ids` of `ds` into a batch (reusing `out`'s buffers).
void make_batch(const Dataset& ds, std::span<const std::int64_t> ids, Batch& out);
Batch make_batch(const Dataset& ds, std::span<const std::int64_t> ids);

}  // namespace m3oe::data
