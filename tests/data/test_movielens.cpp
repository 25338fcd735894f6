// The real MovieLens-1M, checked against the reference numbers: the paper's
// Table 1, the authors' row order (users 1, 2, 12, 15, 17, ...) and their
// split (3,713 / 762 / 1,567 users). Needs ../shared/data/ml-1m beside the
// checkout; without it the test exits 77, which meson reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include "m3oe/data/movielens.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

using namespace m3oe::data;

namespace {

const std::string kDir = std::string(M3OE_SOURCE_DIR) + "/../shared/data/ml-1m";

// Loaded once per mode (each load reads and preprocesses 1,000,209 ratings).
const Splits& authors() {
  static const Splits s = [] {
    const auto t0 = std::chrono::steady_clock::now();
    Splits out = load_movielens(kDir);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("load_movielens (authors' order): %.3f s for %lld rows\n", sec,
                static_cast<long long>(out.train.rows + out.valid.rows + out.test.rows));
    return out;
  }();
  return s;
}

const Splits& shuffled() {
  static const Splits s = [] {
    MovieLensOptions o;
    o.split = MovieLensSplit::shuffled;
    o.seed = 2022;
    return load_movielens(kDir, o);
  }();
  return s;
}

std::set<std::int32_t> users_of(const Dataset& ds) {
  std::set<std::int32_t> u;
  for (std::int64_t i = 0; i < ds.rows; ++i) u.insert(ds.sparse[static_cast<std::size_t>(i) * 7]);
  return u;
}

}  // namespace

TEST_CASE("ML-1M: sizes, vocabularies, label rates") {
  const Splits& s = authors();
  CHECK(s.train.rows == 800167);
  CHECK(s.valid.rows == 100021);
  CHECK(s.test.rows == 100021);
  const Schema& sc = s.train.schema;
  REQUIRE(sc.sparse.size() == 7);
  const std::vector<std::pair<std::string, int>> vocab = {
      {"user_id", 6040}, {"movie_id", 3706}, {"gender", 2}, {"occupation", 21},
      {"zip", 3439},     {"cate_id", 18},    {"domain_indicator", 3}};
  for (std::size_t f = 0; f < 7; ++f) {
    CHECK(sc.sparse[f].name == vocab[f].first);
    CHECK(sc.sparse[f].vocab == vocab[f].second);
  }
  // Rating histogram 1:56,174 2:107,557 3:261,197 4:348,971 5:226,310, so
  // click (rating > 3) = 575,281 and like (rating > 4) = 226,310 of 1,000,209.
  double clicks = 0, likes = 0;
  for (const Dataset* ds : {&s.train, &s.valid, &s.test})
    for (std::int64_t i = 0; i < ds->rows; ++i) {
      clicks += ds->labels[static_cast<std::size_t>(i) * 2];
      likes += ds->labels[static_cast<std::size_t>(i) * 2 + 1];
    }
  CHECK(clicks == 575281);
  CHECK(likes == 226310);
  // Age is min-max scaled: 1 -> 0, 56 -> 1.
  float lo = 1, hi = 0;
  for (const float a : s.train.dense) {
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
}

TEST_CASE("ML-1M: the paper's Table 1 (instances, users, items per domain)") {
  const Splits& s = authors();
  std::int64_t rows[3] = {0, 0, 0};
  std::set<std::int32_t> users[3], items[3];
  for (const Dataset* ds : {&s.train, &s.valid, &s.test})
    for (std::int64_t i = 0; i < ds->rows; ++i) {
      const std::size_t d = static_cast<std::size_t>(ds->domain[static_cast<std::size_t>(i)]);
      ++rows[d];
      users[d].insert(ds->sparse[static_cast<std::size_t>(i) * 7]);
      items[d].insert(ds->sparse[static_cast<std::size_t>(i) * 7 + 1]);
    }
  CHECK(rows[0] == 210747);
  CHECK(rows[1] == 395556);
  CHECK(rows[2] == 393906);
  CHECK(users[0].size() == 1325);
  CHECK(users[1].size() == 2096);
  CHECK(users[2].size() == 2619);
  CHECK(items[0].size() == 3429);
  CHECK(items[1].size() == 3508);
  CHECK(items[2].size() == 3595);
}

TEST_CASE("ML-1M: the authors' row order and user-disjoint split") {
  const Splits& s = authors();
  // The first users of the joined file are 1, 2, 12, 15, 17 (user_id code =
  // raw id - 1, since all 6,040 users have ratings).
  std::vector<std::int32_t> first_users;
  for (std::int64_t i = 0; i < s.train.rows && first_users.size() < 5; ++i) {
    const std::int32_t u = s.train.sparse[static_cast<std::size_t>(i) * 7];
    if (first_users.empty() || first_users.back() != u) first_users.push_back(u);
  }
  CHECK(first_users == std::vector<std::int32_t>{0, 1, 11, 14, 16});
  const auto tr = users_of(s.train), va = users_of(s.valid), te = users_of(s.test);
  CHECK(tr.size() == 3713);
  CHECK(va.size() == 762);
  CHECK(te.size() == 1567);
  // The file is grouped by user: only the users on a cut are in two parts.
  std::size_t shared_train_test = 0;
  for (const auto u : te) shared_train_test += tr.count(u);
  CHECK(shared_train_test == 0);
  CHECK(tr.size() + va.size() + te.size() == 6040 + 2);
  CHECK(s.description == "ml-1m, authors' order 80/10/10 (no shuffle, user-disjoint)");
}

TEST_CASE("ML-1M: shuffled split has warm users and the same rows") {
  const Splits& a = authors();
  const Splits& s = shuffled();
  CHECK(s.train.rows == 800167);
  CHECK(s.test.rows == 100021);
  const auto tr = users_of(s.train), te = users_of(s.test);
  std::size_t cold = 0;
  for (const auto u : te) cold += tr.count(u) == 0;
  CHECK(cold == 0);  // every test user also has training rows
  CHECK(te.size() > 5000);  // 100k random rows touch most users (vs 1,567 unshuffled)
  CHECK(te.size() > users_of(a.test).size());
  CHECK(s.description == "ml-1m, shuffled (seed 2022) 80/10/10");
}

int main(int argc, char** argv) {
  if (!std::filesystem::exists(kDir + "/ratings.dat")) {
    std::printf("SKIP: MovieLens-1M not found at %s (download it from GroupLens, see docs/data.md)\n",
                kDir.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
