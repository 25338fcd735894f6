#include "m3oe/data/split.hpp"

#include "m3oe/data/rng.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

namespace m3oe::data {

void check_split_fractions(double train_fraction, double valid_fraction) {
  if (!(train_fraction > 0.0) || !(valid_fraction >= 0.0) ||
      !(train_fraction + valid_fraction <= 1.0 + 1e-12))
    throw std::invalid_argument("split fractions must satisfy 0 < train, 0 <= valid, train + valid <= 1; got train " +
                                std::to_string(train_fraction) + ", valid " +
                                std::to_string(valid_fraction));
}

SplitSizes split_sizes(std::int64_t rows, double train_fraction, double valid_fraction) {
  check_split_fractions(train_fraction, valid_fraction);
  const double n = static_cast<double>(rows);
  const std::int64_t train_end = static_cast<std::int64_t>(n * train_fraction);
  std::int64_t valid_end = static_cast<std::int64_t>(n * (train_fraction + valid_fraction));
  if (valid_end > rows) valid_end = rows;  // train + valid a hair above 1 by rounding
  return {train_end, valid_end - train_end, rows - valid_end};
}

std::vector<std::int64_t> identity_order(std::int64_t rows) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  return order;
}

std::vector<std::int64_t> shuffled_order(std::int64_t rows, std::uint64_t seed) {
  std::vector<std::int64_t> order = identity_order(rows);
  Rng rng(seed);
  rng.shuffle(std::span<std::int64_t>(order));
  return order;
}

Splits split_rows(const Dataset& all, std::span<const std::int64_t> order, double train_fraction,
                  double valid_fraction, std::string description) {
  const SplitSizes s = split_sizes(static_cast<std::int64_t>(order.size()), train_fraction,
                                   valid_fraction);
  Splits out;
  out.train = all.subset(order.subspan(0, static_cast<std::size_t>(s.train)));
  out.valid = all.subset(order.subspan(static_cast<std::size_t>(s.train),
                                       static_cast<std::size_t>(s.valid)));
  out.test = all.subset(order.subspan(static_cast<std::size_t>(s.train + s.valid)));
  out.description = std::move(description);
  return out;
}

std::string fractions_label(double train_fraction, double valid_fraction) {
  const double test = 1.0 - train_fraction - valid_fraction;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g/%g/%g", std::round(train_fraction * 1000) / 10,
                std::round(valid_fraction * 1000) / 10, std::round(std::max(test, 0.0) * 1000) / 10);
  return buf;
}

}  // namespace m3oe::data
