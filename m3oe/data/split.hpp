// split.hpp: cutting one dataset into train / validation / test.
//
// All loaders cut the same way the authors' script does: after putting the
// rows in some order (the file's, or a seeded shuffle of it), the first
// int(n * train) rows are training, the rows up to int(n * (train + valid))
// validation and the rest test. (int() truncates, as Python's does.)
#pragma once

#include "m3oe/data/dataset.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace m3oe::data {

struct SplitSizes {
  std::int64_t train = 0, valid = 0, test = 0;
};

// Throws std::invalid_argument unless 0 < train, 0 <= valid and train + valid <= 1.
void check_split_fractions(double train_fraction, double valid_fraction);

SplitSizes split_sizes(std::int64_t rows, double train_fraction, double valid_fraction);

// 0, 1, ..., rows-1.
std::vector<std::int64_t> identity_order(std::int64_t rows);
// A permutation of 0..rows-1 drawn from `seed` (Fisher-Yates on
// std::mt19937_64: the same on every platform; see rng.hpp).
std::vector<std::int64_t> shuffled_order(std::int64_t rows, std::uint64_t seed);

// Takes the rows of `all` in `order` and cuts them by split_sizes.
Splits split_rows(const Dataset& all, std::span<const std::int64_t> order, double train_fraction,
                  double valid_fraction, std::string description);

// "80/10/10" for (0.8, 0.1): the fractions in percent, for descriptions.
std::string fractions_label(double train_fraction, double valid_fraction);

}  // namespace m3oe::data
