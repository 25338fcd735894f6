// table.hpp: a user's own CSV/TSV data, read through a TableSchema.
//
// Encoding, all fitted on the TRAINING rows only (so nothing about the
// validation or test rows leaks into the features):
//   sparse   the distinct training values, sorted (byte order), get ids
//            1..K; id 0 is reserved for "unknown": a value that does not
//            occur in training maps to 0. Vocabulary = K + 1.
//   dense    min-max scaled with the training min and max:
//            x' = (x - min) / (max - min), or x - min if max == min (as
//            sklearn's MinMaxScaler). Validation/test values outside the
//            training range fall outside [0,1]; they are not clipped.
//   domain   the values get ids 0..D-1: in `domain_values` order if the
//            schema gives it, else the sorted distinct training values. A
//            validation/test row whose domain has no tower is an error.
//   labels   each task column must hold 0 or 1 (1.0 and 0.0 are accepted).
// Errors (DataError, see parse.hpp) name the file, the 1-based line, the
// column and the offending text.
#pragma once

#include "m3oe/data/dataset.hpp"
#include "m3oe/data/table_schema.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace m3oe::data {

struct TableOptions {
  // One file cut into train / validation / test (test = the rest) ...
  double train_fraction = 0.8;
  double valid_fraction = 0.1;
  bool shuffle = true;        // shuffle the rows (with `seed`) before cutting
  std::uint64_t seed = 2022;
  // ... or, when both are set, the data path is the training file and these
  // are the validation and test files (same columns, each with its own
  // header line if the schema has one); nothing is cut or shuffled.
  std::string valid_path;
  std::string test_path;
};

// What was fitted on the training rows, to encode more data the same way.
struct TableEncoding {
  std::vector<std::vector<std::string>> sparse_values;  // [sparse column][id - 1] = raw value
  std::vector<double> dense_min, dense_max;             // [dense column], training min / max
  std::vector<std::string> domains;                     // [domain id] = raw value
};

Splits load_table(const std::string& data_path, const TableSchema& schema,
                  const TableOptions& options = {}, TableEncoding* encoding = nullptr);
// The same with the schema read from a schema file.
Splits load_table(const std::string& data_path, const std::string& schema_path,
                  const TableOptions& options = {}, TableEncoding* encoding = nullptr);

// Encodes another file (e.g. new rows to score) with an encoding fitted by
// load_table: unseen categories -> id 0, dense scaled with the training
// min / max, a domain the model has no tower for -> DataError naming the
// file and line. With require_labels = false the task columns may be
// missing and every label is 0.
Dataset encode_table(const std::string& path, const TableSchema& schema, const TableEncoding& encoding,
                     bool require_labels = true);

}  // namespace m3oe::data
