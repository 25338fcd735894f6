// movielens.cpp: see movielens.hpp; docs/data.md maps each step to the
// authors' script (examples/run_movielens.py in their repository).
#include "m3oe/data/movielens.hpp"

#include "m3oe/data/parse.hpp"
#include "m3oe/data/split.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace m3oe::data {

namespace {

struct User {
  std::int64_t raw_id;
  std::string_view gender;
  int age;
  std::int64_t occupation;
  std::string_view zip;
};

struct Movie {
  std::int64_t raw_id;
  std::string_view first_genre;  // cate_id: genres.split("|")[0]
};

// The ratings, one entry per line of ratings.dat, as indices into the
// user and movie tables.
struct Ratings {
  std::vector<std::int32_t> user, movie;
  std::vector<std::int8_t> rating;
};

// Raw id -> position in the users/movies table. The ids of ML-1M are small
// positive integers, so a direct-indexed vector beats a hash map.
class IdTable {
 public:
  static constexpr std::int64_t kMaxId = 100'000'000;
  // False if the id is already present.
  bool add(std::int64_t id, std::int32_t slot) {
    if (static_cast<std::size_t>(id) >= slot_.size()) slot_.resize(static_cast<std::size_t>(id) + 1, -1);
    if (slot_[static_cast<std::size_t>(id)] >= 0) return false;
    slot_[static_cast<std::size_t>(id)] = slot;
    return true;
  }
  std::int32_t find(std::int64_t id) const {
    return static_cast<std::size_t>(id) < slot_.size() ? slot_[static_cast<std::size_t>(id)] : -1;
  }

 private:
  std::vector<std::int32_t> slot_;
};

// The paper's three domains by age group (run_movielens.py: group1..group3).
int age_domain(std::int64_t age) {
  switch (age) {
    case 1: case 18: return 0;
    case 25: return 1;
    case 35: case 45: case 50: case 56: return 2;
    default: return -1;
  }
}

std::int64_t parse_id(const std::string& file, std::int64_t line_no, std::string_view field,
                      std::string_view line, const char* what) {
  std::int64_t id = 0;
  if (!parse_int64(field, id) || id < 0 || id >= IdTable::kMaxId)
    fail_at(file, line_no, std::string(what) + " must be an integer in 0.." +
                               std::to_string(IdTable::kMaxId - 1) + ", got " + quoted(field),
            line);
  return id;
}

// GroupLens's files end every line with a newline, so a last line without
// one is a file cut short (a copy or download that stopped), possibly inside
// a number that still parses ("...::97830" for "...::978300760").
void check_terminated(const std::string& file, const LineReader& lines, std::string_view line) {
  if (lines.unterminated())
    fail_at(file, lines.line_number(),
            "the last line has no newline: the file looks cut short (every line of the GroupLens files ends "
            "with one; if this file is complete, add it: echo >> " + file + ")",
            line);
}

// users.dat: UserID::Gender::Age::Occupation::Zip-code
std::vector<User> read_users(const std::string& file, std::string_view text, IdTable& ids) {
  std::vector<User> users;
  std::vector<std::string_view> f;
  LineReader lines(text);
  for (std::string_view line; lines.next(line);) {
    if (line.empty()) continue;
    check_terminated(file, lines, line);
    const std::int64_t n = lines.line_number();
    split_fields(line, "::", f);
    if (f.size() != 5) fail_at(file, n, "expected UserID::Gender::Age::Occupation::Zip-code (5 fields), got " + std::to_string(f.size()) + " fields", line);
    User u;
    u.raw_id = parse_id(file, n, f[0], line, "UserID");
    u.gender = f[1];
    std::int64_t age = 0;
    if (!parse_int64(f[2], age) || age_domain(age) < 0)
      fail_at(file, n, "Age must be one of the ML-1M age groups 1,18,25,35,45,50,56, got " + quoted(f[2]), line);
    u.age = static_cast<int>(age);
    if (!parse_int64(f[3], u.occupation)) fail_at(file, n, "Occupation must be an integer, got " + quoted(f[3]), line);
    u.zip = f[4];
    if (u.gender.empty() || u.zip.empty()) fail_at(file, n, "empty Gender or Zip-code", line);
    if (!ids.add(u.raw_id, static_cast<std::int32_t>(users.size())))
      fail_at(file, n, "duplicate UserID " + std::to_string(u.raw_id), line);
    users.push_back(u);
  }
  if (users.empty()) throw DataError(file, 0, "no users");
  return users;
}

// movies.dat: MovieID::Title::Genres. The title is dropped (it is Latin-1;
// it is never decoded), the genres are ASCII and joined by '|'.
std::vector<Movie> read_movies(const std::string& file, std::string_view text, IdTable& ids) {
  std::vector<Movie> movies;
  LineReader lines(text);
  for (std::string_view line; lines.next(line);) {
    if (line.empty()) continue;
    check_terminated(file, lines, line);
    const std::int64_t n = lines.line_number();
    const std::size_t first = line.find("::"), last = line.rfind("::");
    if (first == std::string_view::npos || last == first)
      fail_at(file, n, "expected MovieID::Title::Genres", line);
    Movie m;
    m.raw_id = parse_id(file, n, line.substr(0, first), line, "MovieID");
    const std::string_view genres = line.substr(last + 2);
    m.first_genre = genres.substr(0, genres.find('|'));
    if (m.first_genre.empty()) fail_at(file, n, "empty Genres", line);
    if (!ids.add(m.raw_id, static_cast<std::int32_t>(movies.size())))
      fail_at(file, n, "duplicate MovieID " + std::to_string(m.raw_id), line);
    movies.push_back(m);
  }
  if (movies.empty()) throw DataError(file, 0, "no movies");
  return movies;
}

// Reads a run of decimal digits at `p`; false if there is none or it overflows.
bool read_digits(const char*& p, const char* end, std::int64_t& value) {
  const char* start = p;
  value = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    if (p - start >= 18) return false;
    value = value * 10 + (*p - '0');
    ++p;
  }
  return p > start;
}

bool read_separator(const char*& p, const char* end) {
  if (end - p < 2 || p[0] != ':' || p[1] != ':') return false;
  p += 2;
  return true;
}

// ratings.dat: UserID::MovieID::Rating::Timestamp, one million lines, so
// parsed by hand. The timestamp must be digits but is not used.
Ratings read_ratings(const std::string& file, std::string_view text, const IdTable& user_ids,
                     const IdTable& movie_ids) {
  Ratings r;
  const std::size_t guess = text.size() / 20 + 16;
  r.user.reserve(guess);
  r.movie.reserve(guess);
  r.rating.reserve(guess);
  LineReader lines(text);
  for (std::string_view line; lines.next(line);) {
    if (line.empty()) continue;
    check_terminated(file, lines, line);
    const char* p = line.data();
    const char* end = p + line.size();
    std::int64_t user = 0, movie = 0, rating = 0, timestamp = 0;
    if (!(read_digits(p, end, user) && read_separator(p, end) && read_digits(p, end, movie) &&
          read_separator(p, end) && read_digits(p, end, rating) && read_separator(p, end) &&
          read_digits(p, end, timestamp) && p == end)) {
      const std::int64_t n = lines.line_number();
      std::vector<std::string_view> f;
      split_fields(line, "::", f);
      if (f.size() == 4 && parse_int64(f[0], user) && parse_int64(f[1], movie) &&
          parse_int64(f[3], timestamp))  // only the rating field is bad
        fail_at(file, n, "Rating must be an integer 1..5, got " + quoted(f[2]), line);
      fail_at(file, n, "expected UserID::MovieID::Rating::Timestamp (non-negative integers)", line);
    }
    if (rating < 1 || rating > 5)
      fail_at(file, lines.line_number(), "Rating must be an integer 1..5, got " + std::to_string(rating), line);
    const std::int32_t u = user_ids.find(user), m = movie_ids.find(movie);
    if (u < 0) fail_at(file, lines.line_number(), "UserID " + std::to_string(user) + " is not in users.dat", line);
    if (m < 0) fail_at(file, lines.line_number(), "MovieID " + std::to_string(movie) + " is not in movies.dat", line);
    r.user.push_back(u);
    r.movie.push_back(m);
    r.rating.push_back(static_cast<std::int8_t>(rating));
  }
  if (r.user.empty()) throw DataError(file, 0, "no ratings");
  return r;
}

// Stable counting sort of `rows` by key[row]; the keys are 0..num_keys-1.
std::vector<std::int64_t> stable_group(const std::vector<std::int64_t>& rows,
                                       const std::vector<std::int32_t>& key, std::size_t num_keys) {
  std::vector<std::int64_t> start(num_keys + 1, 0);
  for (const std::int64_t r : rows) ++start[static_cast<std::size_t>(key[static_cast<std::size_t>(r)]) + 1];
  for (std::size_t k = 0; k < num_keys; ++k) start[k + 1] += start[k];
  std::vector<std::int64_t> out(rows.size());
  for (const std::int64_t r : rows) out[static_cast<std::size_t>(start[static_cast<std::size_t>(key[static_cast<std::size_t>(r)])]++)] = r;
  return out;
}

// For each row, the rank of its entity (entity[row]) in the order in which
// the entities first appear along `rows`.
std::vector<std::int32_t> first_appearance_rank(const std::vector<std::int64_t>& rows,
                                                const std::vector<std::int32_t>& entity,
                                                std::size_t num_entities, std::size_t& num_ranks) {
  std::vector<std::int32_t> rank_of_entity(num_entities, -1);
  std::int32_t next = 0;
  for (const std::int64_t r : rows) {
    std::int32_t& rank = rank_of_entity[static_cast<std::size_t>(entity[static_cast<std::size_t>(r)])];
    if (rank < 0) rank = next++;
  }
  num_ranks = static_cast<std::size_t>(next);
  std::vector<std::int32_t> row_rank(entity.size());
  for (std::size_t r = 0; r < entity.size(); ++r) row_rank[r] = rank_of_entity[static_cast<std::size_t>(entity[r])];
  return row_rank;
}

// The row order of the authors' pandas join (see m3oe-reference.md):
// 1. stable-group the ratings by movie, movies in order of first appearance;
// 2. stable-group that by user, users in order of first appearance in (1).
std::vector<std::int64_t> authors_row_order(const Ratings& r, std::size_t num_users,
                                            std::size_t num_movies) {
  std::vector<std::int64_t> rows(r.user.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  std::size_t ranks = 0;
  const std::vector<std::int32_t> movie_rank = first_appearance_rank(rows, r.movie, num_movies, ranks);
  const std::vector<std::int64_t> by_movie = stable_group(rows, movie_rank, ranks);
  const std::vector<std::int32_t> user_rank = first_appearance_rank(by_movie, r.user, num_users, ranks);
  return stable_group(by_movie, user_rank, ranks);
}

// sklearn's LabelEncoder over the entities that occur (used[i] != 0): code =
// position of the value among the sorted distinct values; -1 if unused.
template <class Key>
std::vector<std::int32_t> label_encode(const std::vector<Key>& value, const std::vector<char>& used,
                                       std::int32_t& vocab) {
  std::vector<Key> distinct;
  for (std::size_t i = 0; i < value.size(); ++i)
    if (used[i]) distinct.push_back(value[i]);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  vocab = static_cast<std::int32_t>(distinct.size());
  std::vector<std::int32_t> code(value.size(), -1);
  for (std::size_t i = 0; i < value.size(); ++i)
    if (used[i])
      code[i] = static_cast<std::int32_t>(std::lower_bound(distinct.begin(), distinct.end(), value[i]) - distinct.begin());
  return code;
}

template <class T, class F>
std::vector<std::invoke_result_t<F, const T&>> map_vec(const std::vector<T>& v, F f) {
  std::vector<std::invoke_result_t<F, const T&>> out;
  out.reserve(v.size());
  for (const T& x : v) out.push_back(f(x));
  return out;
}

}  // namespace

std::vector<std::string> ml1m_count_warnings(std::int64_t ratings, std::int64_t users, std::int64_t movies) {
  std::vector<std::string> out;
  auto check = [&](std::int64_t have, std::int64_t want, const char* what) {
    if (have == want) return;
    const std::int64_t d = have - want;
    out.push_back("ml-1m: " + std::to_string(have) + " " + what + ", the published MovieLens-1M has " +
                  std::to_string(want) + " (" + std::to_string(d < 0 ? -d : d) + (d < 0 ? " fewer" : " more") +
                  "): a subset or another data set, results will not match the paper's");
  };
  check(ratings, kMl1mRatings, "ratings");
  check(users, kMl1mUsers, "users");
  check(movies, kMl1mMovies, "movies");
  return out;
}

MovieLensSplit parse_movielens_split(std::string_view name) {
  if (name == "authors" || name == "authors_order") return MovieLensSplit::authors_order;
  if (name == "shuffled") return MovieLensSplit::shuffled;
  throw std::invalid_argument("unknown MovieLens split '" + std::string(name) +
                              "' (choices: authors, shuffled)");
}

const char* to_string(MovieLensSplit split) {
  return split == MovieLensSplit::authors_order ? "authors" : "shuffled";
}

Dataset load_movielens_all(const std::string& dir, std::vector<std::string>* warnings) {
  const std::string users_file = dir + "/users.dat", movies_file = dir + "/movies.dat",
                    ratings_file = dir + "/ratings.dat";
  const std::string users_text = read_text_file(users_file);
  const std::string movies_text = read_text_file(movies_file);
  const std::string ratings_text = read_text_file(ratings_file);
  IdTable user_ids, movie_ids;
  const std::vector<User> users = read_users(users_file, users_text, user_ids);
  const std::vector<Movie> movies = read_movies(movies_file, movies_text, movie_ids);
  const Ratings ratings = read_ratings(ratings_file, ratings_text, user_ids, movie_ids);
  if (warnings)
    *warnings = ml1m_count_warnings(static_cast<std::int64_t>(ratings.user.size()),
                                    static_cast<std::int64_t>(users.size()), static_cast<std::int64_t>(movies.size()));

  // LabelEncoder runs on the joined table, so only users and movies that
  // have ratings get a code (3,706 of the 3,883 movies).
  std::vector<char> user_used(users.size(), 0), movie_used(movies.size(), 0);
  for (const std::int32_t u : ratings.user) user_used[static_cast<std::size_t>(u)] = 1;
  for (const std::int32_t m : ratings.movie) movie_used[static_cast<std::size_t>(m)] = 1;

  Schema schema;
  schema.sparse = {{"user_id", 0},    {"movie_id", 0}, {"gender", 0},          {"occupation", 0},
                   {"zip", 0},        {"cate_id", 0},  {"domain_indicator", 0}};
  const auto user_code = label_encode(map_vec(users, [](const User& u) { return u.raw_id; }), user_used, schema.sparse[0].vocab);
  const auto movie_code = label_encode(map_vec(movies, [](const Movie& m) { return m.raw_id; }), movie_used, schema.sparse[1].vocab);
  const auto gender_code = label_encode(map_vec(users, [](const User& u) { return u.gender; }), user_used, schema.sparse[2].vocab);
  const auto occupation_code = label_encode(map_vec(users, [](const User& u) { return u.occupation; }), user_used, schema.sparse[3].vocab);
  const auto zip_code = label_encode(map_vec(users, [](const User& u) { return u.zip; }), user_used, schema.sparse[4].vocab);
  const auto cate_code = label_encode(map_vec(movies, [](const Movie& m) { return m.first_genre; }), movie_used, schema.sparse[5].vocab);
  const auto user_domain = map_vec(users, [](const User& u) { return age_domain(u.age); });
  const auto domain_code = label_encode(user_domain, user_used, schema.sparse[6].vocab);
  schema.dense = {"age"};
  schema.tasks = {"click", "like"};
  schema.domains = {"age 1-18", "age 25", "age 35+"};
  schema.domain_column = "age";

  // MinMaxScaler on age over the rows (= over the users that have ratings).
  int age_min = 1 << 30, age_max = -(1 << 30);
  for (std::size_t u = 0; u < users.size(); ++u)
    if (user_used[u]) {
      age_min = std::min(age_min, users[u].age);
      age_max = std::max(age_max, users[u].age);
    }
  const double age_range = age_max > age_min ? double(age_max - age_min) : 1.0;

  const std::vector<std::int64_t> order = authors_row_order(ratings, users.size(), movies.size());
  Dataset ds;
  ds.schema = std::move(schema);
  ds.rows = static_cast<std::int64_t>(order.size());
  constexpr std::size_t ns = 7;
  ds.sparse.resize(order.size() * ns);
  ds.dense.resize(order.size());
  ds.domain.resize(order.size());
  ds.labels.resize(order.size() * 2);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::size_t r = static_cast<std::size_t>(order[i]);
    const std::size_t u = static_cast<std::size_t>(ratings.user[r]);
    const std::size_t m = static_cast<std::size_t>(ratings.movie[r]);
    std::int32_t* s = &ds.sparse[i * ns];
    s[0] = user_code[u];
    s[1] = movie_code[m];
    s[2] = gender_code[u];
    s[3] = occupation_code[u];
    s[4] = zip_code[u];
    s[5] = cate_code[m];
    s[6] = domain_code[u];
    ds.dense[i] = static_cast<float>((users[u].age - age_min) / age_range);
    ds.domain[i] = user_domain[u];
    ds.labels[i * 2 + 0] = ratings.rating[r] > 3 ? 1.0f : 0.0f;  // click
    ds.labels[i * 2 + 1] = ratings.rating[r] > 4 ? 1.0f : 0.0f;  // like
  }
  return ds;
}

Splits load_movielens(const std::string& dir, const MovieLensOptions& options) {
  check_split_fractions(options.train_fraction, options.valid_fraction);
  std::vector<std::string> warnings;
  const Dataset all = load_movielens_all(dir, &warnings);
  const std::string cut = fractions_label(options.train_fraction, options.valid_fraction);
  Splits out;
  if (options.split == MovieLensSplit::authors_order) {
    const std::vector<std::int64_t> order = identity_order(all.rows);
    out = split_rows(all, order, options.train_fraction, options.valid_fraction,
                     "ml-1m, authors' order " + cut + " (no shuffle, user-disjoint)");
  } else {
    const std::vector<std::int64_t> order = shuffled_order(all.rows, options.seed);
    out = split_rows(all, order, options.train_fraction, options.valid_fraction,
                     "ml-1m, shuffled (seed " + std::to_string(options.seed) + ") " + cut);
  }
  out.warnings = std::move(warnings);
  return out;
}

}  // namespace m3oe::data
