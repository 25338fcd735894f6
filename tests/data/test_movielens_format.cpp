// The MovieLens-1M loader on tiny hand-made files (no data set needed):
// the authors' row order, the label encoding, and every error message.
#include "m3oe/data/movielens.hpp"
#include "m3oe/data/parse.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace m3oe::data;
namespace fs = std::filesystem;

namespace {

// A fresh folder holding users.dat / movies.dat / ratings.dat.
struct MiniMovieLens {
  fs::path dir;
  MiniMovieLens(const std::string& users, const std::string& movies, const std::string& ratings) {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("m3oe-ml-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
    write("users.dat", users);
    write("movies.dat", movies);
    write("ratings.dat", ratings);
  }
  ~MiniMovieLens() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
  }
  std::string path() const { return dir.string(); }
};

const std::string kUsers =
    "1::F::1::10::48067\n"
    "2::M::56::16::70072\n"
    "3::M::25::15::55117\n";
// The third title holds a Latin-1 byte (0xE9), as movies.dat does.
const std::string kMovies =
    "10::Toy Story (1995)::Animation|Children's|Comedy\n"
    "20::Heat (1995)::Action|Crime|Thriller\n"
    "30::Caf\xe9 Society (1995)::Drama\n"
    "40::Never Rated (1995)::Western\n";
const std::string kRatings =
    "2::20::4::0\n"
    "1::10::5::978300760\n"
    "3::20::1::0\n"
    "1::20::3::0\n"
    "2::10::5::0\n"
    "3::30::2::0\n";

std::string error_of(const MiniMovieLens& ml) {
  try {
    load_movielens_all(ml.path());
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("MovieLens: the authors' join order and label encoding on a tiny copy") {
  const MiniMovieLens ml(kUsers, kMovies, kRatings);
  const Dataset ds = load_movielens_all(ml.path());
  // 1. Movies by first appearance: 20, 10, 30; ratings grouped stably:
  //    (2,20) (3,20) (1,20) (1,10) (2,10) (3,30).
  // 2. Users by first appearance in that: 2, 3, 1; grouped stably:
  //    (2,20) (2,10) (3,20) (3,30) (1,20) (1,10), ratings 4 5 1 2 3 5.
  REQUIRE(ds.rows == 6);
  REQUIRE(ds.schema.sparse.size() == 7);
  std::vector<std::int32_t> user, movie, gender, occupation, zip, cate, dom_feature;
  for (std::int64_t i = 0; i < ds.rows; ++i) {
    const std::int32_t* s = &ds.sparse[static_cast<std::size_t>(i) * 7];
    user.push_back(s[0]);
    movie.push_back(s[1]);
    gender.push_back(s[2]);
    occupation.push_back(s[3]);
    zip.push_back(s[4]);
    cate.push_back(s[5]);
    dom_feature.push_back(s[6]);
  }
  // Codes are positions among the sorted distinct values of the joined rows.
  CHECK(user == std::vector<std::int32_t>{1, 1, 2, 2, 0, 0});        // 1,2,3 -> 0,1,2
  CHECK(movie == std::vector<std::int32_t>{1, 0, 1, 2, 1, 0});       // 10,20,30 -> 0,1,2 (40 unrated)
  CHECK(gender == std::vector<std::int32_t>{1, 1, 1, 1, 0, 0});      // F,M
  CHECK(occupation == std::vector<std::int32_t>{2, 2, 1, 1, 0, 0});  // 10,15,16
  CHECK(zip == std::vector<std::int32_t>{2, 2, 1, 1, 0, 0});         // "48067","55117","70072"
  CHECK(cate == std::vector<std::int32_t>{0, 1, 0, 2, 0, 1});        // Action, Animation, Drama
  CHECK(dom_feature == std::vector<std::int32_t>{2, 2, 1, 1, 0, 0});
  CHECK(ds.domain == std::vector<std::int32_t>{2, 2, 1, 1, 0, 0});  // ages 56, 25, 1
  // Vocabularies: only what occurs in the ratings (movie 40 and Western do not).
  CHECK(ds.schema.sparse[1].vocab == 3);
  CHECK(ds.schema.sparse[5].vocab == 3);
  // Age min-max over the rows: (56-1)/55 = 1, (25-1)/55, (1-1)/55 = 0.
  CHECK(ds.dense[0] == 1.0f);
  CHECK(ds.dense[2] == doctest::Approx(24.0 / 55.0));
  CHECK(ds.dense[4] == 0.0f);
  // click = rating > 3, like = rating > 4 for ratings 4 5 1 2 3 5.
  CHECK(ds.labels == std::vector<float>{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1});
  CHECK(ds.schema.domains == std::vector<std::string>{"age 1-18", "age 25", "age 35+"});
  CHECK(ds.schema.tasks == std::vector<std::string>{"click", "like"});
  CHECK(ds.schema.dense == std::vector<std::string>{"age"});
}

TEST_CASE("MovieLens: splits of the tiny copy") {
  const MiniMovieLens ml(kUsers, kMovies, kRatings);
  const Splits a = load_movielens(ml.path());
  // int(6*0.8) = 4, int(6*0.9) = 5.
  CHECK(a.train.rows == 4);
  CHECK(a.valid.rows == 1);
  CHECK(a.test.rows == 1);
  CHECK(a.test.sparse[0] == 0);  // the last row is user 1
  CHECK(a.description.find("authors' order") != std::string::npos);
  MovieLensOptions o;
  o.split = MovieLensSplit::shuffled;
  o.seed = 5;
  const Splits b = load_movielens(ml.path(), o);
  CHECK(b.train.rows + b.valid.rows + b.test.rows == 6);
  CHECK(b.description.find("shuffled (seed 5)") != std::string::npos);
  CHECK(parse_movielens_split("authors") == MovieLensSplit::authors_order);
  CHECK(parse_movielens_split("shuffled") == MovieLensSplit::shuffled);
  CHECK_THROWS_AS(parse_movielens_split("random"), std::invalid_argument);
}

TEST_CASE("MovieLens: errors name the file, the line and the text") {
  SUBCASE("malformed rating line") {
    const MiniMovieLens ml(kUsers, kMovies, "1::10::5::0\n1::10::5\n");
    const std::string e = error_of(ml);
    CHECK(e.find("ratings.dat:2:") != std::string::npos);
    CHECK(e.find("1::10::5\"") != std::string::npos);
  }
  SUBCASE("bad rating") {
    const MiniMovieLens ml(kUsers, kMovies, "1::10::5::0\n1::20::6::0\n");
    const std::string e = error_of(ml);
    CHECK(e.find("ratings.dat:2: Rating must be an integer 1..5, got 6") != std::string::npos);
    const MiniMovieLens ml2(kUsers, kMovies, "1::10::4.5::0\n");
    CHECK(error_of(ml2).find("ratings.dat:1: Rating must be an integer 1..5, got '4.5'") != std::string::npos);
  }
  SUBCASE("unknown user or movie") {
    const MiniMovieLens ml(kUsers, kMovies, "1::10::5::0\n\n9::10::5::0\n");
    CHECK(error_of(ml).find("ratings.dat:3: UserID 9 is not in users.dat") != std::string::npos);
    const MiniMovieLens ml2(kUsers, kMovies, "1::11::5::0\n");
    CHECK(error_of(ml2).find("ratings.dat:1: MovieID 11 is not in movies.dat") != std::string::npos);
  }
  SUBCASE("bad users.dat and movies.dat lines") {
    const MiniMovieLens ml("1::F::17::10::48067\n", kMovies, kRatings);
    CHECK(error_of(ml).find("users.dat:1: Age must be one of") != std::string::npos);
    const MiniMovieLens ml2(kUsers + "2::M::25::1::00000\n", kMovies, kRatings);
    CHECK(error_of(ml2).find("users.dat:4: duplicate UserID 2") != std::string::npos);
    const MiniMovieLens ml3(kUsers, "10::No genres\n", kRatings);
    CHECK(error_of(ml3).find("movies.dat:1: expected MovieID::Title::Genres") != std::string::npos);
    const MiniMovieLens ml4("1::F::1::10\n", kMovies, kRatings);
    CHECK(error_of(ml4).find("users.dat:1: expected UserID::Gender::Age::Occupation::Zip-code") !=
          std::string::npos);
  }
  SUBCASE("missing file") {
    const MiniMovieLens ml(kUsers, kMovies, kRatings);
    fs::remove(ml.dir / "movies.dat");
    const std::string e = error_of(ml);
    CHECK(e.find("movies.dat: cannot open") != std::string::npos);
    CHECK_THROWS_AS(load_movielens("/nonexistent/ml-1m"), DataError);
  }
}
