// movielens.hpp: MovieLens-1M, preprocessed exactly like the M3oE authors.
//
// Reads ratings.dat, users.dat and movies.dat (GroupLens's `::`-separated
// files) from one folder and builds the multi-domain multi-task dataset of
// the paper's ML-1M experiments (docs/data.md walks through every step):
//   rows      one per rating, in the row order of the authors' pandas join
//   sparse    user_id (6040), movie_id (3706), gender (2), occupation (21),
//             zip (3439), cate_id = first genre (18), domain_indicator (3),
//             each label-encoded to 0..V-1 in sorted order of the raw values
//   dense     age, min-max scaled to [0,1]
//   domains   by age: {1,18} -> "age 1-18", {25} -> "age 25", {35..56} -> "age 35+"
//   tasks     click = rating > 3, like = rating > 4
#pragma once

#include "m3oe/data/dataset.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace m3oe::data {

enum class MovieLensSplit {
  authors_order,  // no shuffle: the join order cut 80/10/10 (user-disjoint splits)
  shuffled,       // rows shuffled with `seed`, then cut 80/10/10 (warm users)
};

struct MovieLensOptions {
  MovieLensSplit split = MovieLensSplit::authors_order;
  std::uint64_t seed = 2022;  // used by `shuffled` only
  double train_fraction = 0.8;
  double valid_fraction = 0.1;  // test = the rest
};

// "authors" / "authors_order" -> authors_order, "shuffled" -> shuffled;
// anything else throws std::invalid_argument listing the choices.
MovieLensSplit parse_movielens_split(std::string_view name);
const char* to_string(MovieLensSplit split);

// The published MovieLens-1M's counts (its README): a copy with other counts
// loads, with a warning (a subset is legitimate, but not the paper's data).
inline constexpr std::int64_t kMl1mRatings = 1'000'209, kMl1mUsers = 6'040, kMl1mMovies = 3'883;
// One sentence per count that differs from the published one, naming both
// and the difference; empty for the real data set.
std::vector<std::string> ml1m_count_warnings(std::int64_t ratings, std::int64_t users, std::int64_t movies);

// All 1,000,209 rows, preprocessed, in the authors' row order (no split).
// Throws DataError (see parse.hpp) naming the file and 1-based line for a
// missing file, a directory or device in its place, a malformed line, a bad
// rating or age, a duplicate id, a rating whose user or movie is not in
// users.dat / movies.dat, or a last line without its newline (a file cut
// short). `warnings`, if given, receives ml1m_count_warnings.
Dataset load_movielens_all(const std::string& dir, std::vector<std::string>* warnings = nullptr);

// The rows split as `options` says; Splits::description names the split,
// e.g. "ml-1m, authors' order 80/10/10 (no shuffle, user-disjoint)", and
// Splits::warnings holds ml1m_count_warnings.
Splits load_movielens(const std::string& dir, const MovieLensOptions& options = {});

}  // namespace m3oe::data
