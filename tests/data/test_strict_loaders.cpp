// Strict loaders (issue 18): a UTF-8 byte order mark is skipped and any
// invisible byte in a name is shown escaped; a column cannot be both a
// feature and a task; directories and devices are refused by name; a
// MovieLens file cut inside its last line is detected; counts that differ
// from the published MovieLens-1M give a warning; a dense value whose scaled
// value overflows float is refused in every split.
#include "m3oe/data/movielens.hpp"
#include "m3oe/data/parse.hpp"
#include "m3oe/data/table.hpp"
#include "test_util.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <sys/stat.h>
#include <unistd.h>

using namespace m3oe::data;
using m3oe::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not a DataError) ") + e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::string kBom = "\xEF\xBB\xBF";

const std::string kUsers = "1::F::1::10::48067\n2::M::56::16::70072\n";
const std::string kMovies = "10::Toy Story (1995)::Animation|Comedy\n20::Heat (1995)::Action\n";
const std::string kRatings = "1::10::5::978300760\n2::20::4::978300761\n1::20::2::978300762\n";

std::string ml_dir(const TempDir& t, const std::string& users, const std::string& movies, const std::string& ratings) {
  t.file("users.dat", users);
  t.file("movies.dat", movies);
  t.file("ratings.dat", ratings);
  return t.path();
}

}  // namespace

TEST_CASE("visible() escapes what a reader cannot see and keeps the rest") {
  CHECK(visible("plain name_1") == "plain name_1");
  CHECK(visible(kBom + "user") == "\\u{FEFF}user");
  CHECK(visible("a\xC2\xA0" "b") == "a\\u{00A0}b");        // no-break space
  CHECK(visible("x\xE2\x80\x8By") == "x\\u{200B}y");       // zero-width space
  CHECK(visible("caf\xC3\xA9") == "caf\xC3\xA9");          // visible UTF-8 stays
  CHECK(visible("caf\xE9") == "caf\\xE9");                 // Latin-1, not UTF-8
  CHECK(visible(std::string("a\0b\rc\td", 7)) == "a\\x00b\\x0Dc\td");
  CHECK(visible("\xE2\x82") == "\\xE2\\x82");              // a cut sequence
  CHECK(quoted("\x01") == "'\\x01'");
}

TEST_CASE("a UTF-8 byte order mark before the header or a schema is skipped") {
  const TempDir t;
  const std::string schema = t.file("s.schema", kBom + "sparse user\ntask click\n");
  const std::string csv = t.file("d.csv", kBom + "user,click\nu1,1\nu2,0\nu3,1\nu1,0\nu2,1\n");
  TableOptions o;
  o.shuffle = false;
  const Splits s = load_table(csv, schema, o);
  CHECK(s.train.schema.sparse[0].name == "user");
  CHECK(s.train.rows == 4);
  // A BOM in the middle of a name is not stripped, but the message shows it.
  const std::string odd = t.file("odd.csv", "us" "\xEF\xBB\xBF" "er,click\nu1,1\n");
  const std::string e = error_of([&] { load_table(odd, schema, o); });
  CHECK(contains(e, "column 'user' of the schema is not in the header (columns: us\\u{FEFF}er, click)"));
  // The BOM in a ratings.dat, too.
  const TempDir m;
  const Dataset ds = load_movielens_all(ml_dir(m, kBom + kUsers, kBom + kMovies, kBom + kRatings));
  CHECK(ds.rows == 3);
}

TEST_CASE("a column cannot be both a feature and a task, nor the domain and a task") {
  auto schema_error = [](const std::string& text) {
    return error_of([&] { parse_table_schema(text, "s.schema"); });
  };
  CHECK(schema_error("dense x\ntask x\n") ==
        "s.schema: column 'x' is declared both `dense` and `task`: a label cannot be a feature (the model would "
        "read the answer)");
  CHECK(contains(schema_error("sparse u\nsparse x\ntask y x\n"), "column 'x' is declared both `sparse` and `task`"));
  CHECK(contains(schema_error("sparse u\ndomain y\ntask y\n"), "column 'y' is declared both `domain` and `task`"));
  CHECK(contains(schema_error("sparse x\ndense x\ntask y\n"), "both `sparse` and `dense`"));
  // Domain and sparse feature together is allowed (ML-1M's domain_indicator).
  CHECK(parse_table_schema("sparse region\ndomain region\ntask y\n", "s").domain == "region");
}

TEST_CASE("a column name with a control character is refused (found by fuzz_table)") {
  // The fuzzer's case: "dense x" followed by carriage returns. The line reader
  // drops one '\r' (CRLF files), so the name lost a '\r' at each round trip
  // through to_text; a name holding a control character is now an error.
  auto schema_error = [](const std::string& text) {
    return error_of([&] { parse_table_schema(text, "s.schema"); });
  };
  const std::string cr = schema_error("sparse u\ndense x\r\r\r\ntask y\n");
  CHECK(contains(cr, "s.schema: the dense column name 'x"));
  CHECK(contains(cr, "' holds a control character"));
  CHECK_FALSE(contains(cr, "\r"));  // shown escaped, not as raw carriage returns
  CHECK(contains(schema_error(std::string("sparse u\0v\ntask y\n", 18)), "holds a control character"));
  CHECK(contains(schema_error("sparse u\ntask y\x7f\n"), "the task column name"));
  // A CRLF file is still fine: each line's one '\r' is its line ending.
  const TableSchema crlf = parse_table_schema("sparse u\r\ndense x\r\ntask y\r\n", "s");
  CHECK(crlf.dense == std::vector<std::string>{"x"});
  CHECK(to_text(parse_table_schema(to_text(crlf), "round trip")) == to_text(crlf));
}

TEST_CASE("a directory, a device or a FIFO is refused by name before reading") {
  const TempDir t;
  const std::string schema = t.file("s.schema", "sparse u\ntask y\n");
  CHECK(error_of([&] { load_table(t.path(), schema); }) == t.path() + ": is a directory, not a file");
  CHECK(contains(error_of([&] { load_table("/dev/zero", schema); }), "/dev/zero: is not a regular file"));
  CHECK(contains(error_of([&] { read_table_schema(t.path()); }), "is a directory"));
  const std::string fifo = (t.dir / "pipe").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Opening a FIFO for reading would block until a writer comes: it is refused first.
  CHECK(contains(error_of([&] { load_table(fifo, schema); }), "pipe: is not a regular file"));
  // A MovieLens folder whose ratings.dat is a directory.
  const TempDir m;
  ml_dir(m, kUsers, kMovies, kRatings);
  fs::remove(m.dir / "ratings.dat");
  fs::create_directory(m.dir / "ratings.dat");
  CHECK(contains(error_of([&] { load_movielens_all(m.path()); }), "ratings.dat: is a directory, not a file"));
}

TEST_CASE("MovieLens: a file cut inside its last line is an error naming the line") {
  // Cut inside the last timestamp: every field still parses.
  const TempDir a;
  const std::string cut = kRatings.substr(0, kRatings.size() - 4);  // "...::978300"
  const std::string e = error_of([&] { load_movielens_all(ml_dir(a, kUsers, kMovies, cut)); });
  CHECK(contains(e, "ratings.dat:3: the last line has no newline: the file looks cut short"));
  CHECK(contains(e, "(line: \"1::20::2::978300\")"));
  const TempDir b;
  CHECK(contains(error_of([&] { load_movielens_all(ml_dir(b, kUsers.substr(0, kUsers.size() - 1), kMovies, kRatings)); }),
                 "users.dat:2: the last line has no newline"));
  const TempDir c;
  CHECK(contains(error_of([&] { load_movielens_all(ml_dir(c, kUsers, kMovies.substr(0, 50), kRatings)); }),
                 "movies.dat:2: the last line has no newline"));
  // \r\n endings are complete lines.
  const TempDir d;
  CHECK(load_movielens_all(ml_dir(d, kUsers, kMovies, "1::10::5::978300760\r\n2::20::4::1\r\n")).rows == 2);
}

TEST_CASE("MovieLens: counts other than the published 1,000,209 / 6,040 / 3,883 give a warning") {
  CHECK(ml1m_count_warnings(1'000'209, 6'040, 3'883).empty());
  const auto w = ml1m_count_warnings(999'999, 6'040, 3'884);
  REQUIRE(w.size() == 2);
  CHECK(w[0] == "ml-1m: 999999 ratings, the published MovieLens-1M has 1000209 (210 fewer): a subset or another "
                "data set, results will not match the paper's");
  CHECK(contains(w[1], "3884 movies, the published MovieLens-1M has 3883 (1 more)"));
  const TempDir t;
  const Splits s = load_movielens(ml_dir(t, kUsers, kMovies, kRatings));
  REQUIRE(s.warnings.size() == 3);
  CHECK(contains(s.warnings[0], "ml-1m: 3 ratings"));
  CHECK(contains(s.warnings[1], "2 users"));
  CHECK(contains(s.warnings[2], "2 movies"));
}

TEST_CASE("a table's last line without a newline: accepted if whole, a hint if malformed") {
  const TempDir t;
  const std::string schema = t.file("s.schema", "sparse u\ndense x\ntask y\n");
  TableOptions o;
  o.shuffle = false;
  const std::string whole = t.file("whole.csv", "u,x,y\na,1,1\nb,2,0\nc,3,1\nd,4,0\ne,5,1");
  CHECK(load_table(whole, schema, o).train.rows == 4);
  const std::string cut = t.file("cut.csv", "u,x,y\na,1,1\nb,2,0\nc,3");
  CHECK(error_of([&] { load_table(cut, schema, o); }) ==
        cut + ":4: expected 3 fields separated by ',', got 2 (the last line has no newline: was the file cut "
              "short?) (line: \"c,3\")");
}

TEST_CASE("a dense value whose scaled value overflows float is refused, in every split") {
  const TempDir t;
  const std::string schema = t.file("s.schema", "sparse u\ndense x\ntask y\n");
  // Training range [0, 1]; 1e300 in the test rows scales to 1e300, not a float.
  const std::string train = t.file("train.csv", "u,x,y\na,0,1\nb,1,0\n");
  const std::string valid = t.file("valid.csv", "u,x,y\na,0.5,1\n");
  const std::string test = t.file("test.csv", "u,x,y\na,0.5,1\nb,1e300,0\n");
  TableOptions o;
  o.valid_path = valid;
  o.test_path = test;
  CHECK(error_of([&] { load_table(train, schema, o); }) ==
        test + ":3: column 'x': value 1e+300 scaled with the training range [0, 1] gives 1e+300, which does not "
               "fit a float");
  // In the validation rows too.
  const std::string valid_big = t.file("valid_big.csv", "u,x,y\na,-1e39,1\n");
  o.valid_path = valid_big;
  CHECK(contains(error_of([&] { load_table(train, schema, o); }), "valid_big.csv:2: column 'x': value -1e+39"));
  // A training range too wide to scale.
  const std::string wide = t.file("wide.csv", "u,x,y\na,-1e308,1\nb,1e308,0\n");
  o.valid_path = valid;
  o.test_path = valid;
  CHECK(contains(error_of([&] { load_table(wide, schema, o); }), "a range too wide to scale"));
  // encode_table (m3oe predict --input) checks its rows the same way.
  TableEncoding enc;
  o.valid_path.clear();
  o.test_path.clear();
  const std::string ok = t.file("ok.csv", "u,x,y\na,0,1\nb,1,0\nc,0.5,1\nd,0.2,0\ne,0.7,1\n");
  load_table(ok, schema, o, &enc);
  const std::string big = t.file("big.csv", "u,x\na,1e50\n");
  CHECK(contains(error_of([&] { encode_table(big, read_table_schema(schema), enc, false); }),
                 "big.csv:2: column 'x': value 1e+50"));
}
