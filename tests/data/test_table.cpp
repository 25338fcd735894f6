// The CSV/TSV loader: schema files, encoding fitted on the training rows,
// the split modes, and an error naming file + line (+ column) for every kind
// of bad input.
#include "m3oe/data/parse.hpp"
#include "m3oe/data/table.hpp"
#include "test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>

#include <unistd.h>

using namespace m3oe::data;
using m3oe::testing::TempDir;

namespace {

const char* kSchema =
    "# clicks and purchases by region\n"
    "separator ,\n"
    "header yes\n"
    "sparse user item   # two embedding tables\n"
    "dense price\n"
    "domain region\n"
    "task click buy\n";

const char* kTrain =
    "user,item,price,region,click,buy,note\n"
    "u2,i1,10,north,1,0,x\n"
    "u1,i2,30,south,0,0,y\n"
    "u3,i1,20,north,1,1,\"a, quoted \"\"note\"\"\"\n"
    "u1,i3,50,south,0,1.0,z\n";
// Columns in another order: they are matched by name.
const char* kValid =
    "note,user,item,price,region,click,buy\n"
    "n,u9,i2,60,south,1,0\n";
const char* kTest =
    "user,item,price,region,click,buy,note\r\n"
    "u2,i3,10,north,0,0,w\r\n";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("schema file: parse, validate, round trip") {
  const TableSchema s = parse_table_schema(kSchema, "s.txt");
  CHECK(s.separator == ',');
  CHECK(s.header);
  CHECK(s.sparse == std::vector<std::string>{"user", "item"});
  CHECK(s.dense == std::vector<std::string>{"price"});
  CHECK(s.domain == "region");
  CHECK(s.tasks == std::vector<std::string>{"click", "buy"});
  const TableSchema back = parse_table_schema(to_text(s), "again");
  CHECK(back.sparse == s.sparse);
  CHECK(back.tasks == s.tasks);
  CHECK(back.separator == ',');
  CHECK(parse_table_schema("separator tab\nsparse a\ntask y\n", "t").separator == '\t');

  CHECK(error_of([] { parse_table_schema("sparse a\ntask y\nlabel z\n", "s.txt"); })
            .find("s.txt:3: unknown key 'label'") != std::string::npos);
  CHECK(error_of([] { parse_table_schema("sparse a\n", "s.txt"); }).find("s.txt: no `task` column") !=
        std::string::npos);
  CHECK(error_of([] { parse_table_schema("task y\n", "s.txt"); }).find("no feature columns") != std::string::npos);
  CHECK(error_of([] { parse_table_schema("sparse a a\ntask y\n", "s.txt"); }).find("declared twice") !=
        std::string::npos);
  CHECK(error_of([] { parse_table_schema("header no\nsparse a\ntask y\n", "s.txt"); })
            .find("needs a `columns` line") != std::string::npos);
  CHECK(error_of([] { parse_table_schema("header maybe\n", "s.txt"); }).find("s.txt:1: header must be yes or no") !=
        std::string::npos);
  CHECK(error_of([] { read_table_schema("/nonexistent/schema.txt"); }).find("/nonexistent/schema.txt") !=
        std::string::npos);
}

TEST_CASE("separate train/valid/test files: encoding fitted on training only") {
  const TempDir t;
  const std::string schema = t.file("schema.txt", kSchema);
  TableOptions o;
  o.valid_path = t.file("valid.csv", kValid);
  o.test_path = t.file("test.csv", kTest);
  TableEncoding enc;
  const Splits s = load_table(t.file("train.csv", kTrain), schema, o, &enc);
  CHECK(s.description == "table train.csv / valid.csv / test.csv (separate files)");
  REQUIRE(s.train.rows == 4);
  REQUIRE(s.valid.rows == 1);
  REQUIRE(s.test.rows == 1);
  const Schema& sc = s.train.schema;
  // Sorted training values u1 u2 u3 -> ids 1 2 3; id 0 = unknown; vocab 4.
  CHECK(sc.sparse[0].name == "user");
  CHECK(sc.sparse[0].vocab == 4);
  CHECK(sc.sparse[1].vocab == 4);
  CHECK(enc.sparse_values[0] == std::vector<std::string>{"u1", "u2", "u3"});
  CHECK(s.train.sparse == std::vector<std::int32_t>{2, 1, 1, 2, 3, 1, 1, 3});
  // price: training min 10, max 50 -> (x - 10) / 40.
  CHECK(s.train.dense == std::vector<float>{0.0f, 0.5f, 0.25f, 1.0f});
  CHECK(enc.dense_min[0] == 10.0);
  CHECK(enc.dense_max[0] == 50.0);
  // Domains: sorted training values north, south.
  CHECK(sc.domains == std::vector<std::string>{"north", "south"});
  CHECK(sc.domain_column == "region");
  CHECK(s.train.domain == std::vector<std::int32_t>{0, 1, 0, 1});
  CHECK(s.train.labels == std::vector<float>{1, 0, 0, 0, 1, 1, 0, 1});
  // Validation: u9 was never seen in training -> 0; 60 scales past 1 (not clipped).
  CHECK(s.valid.sparse == std::vector<std::int32_t>{0, 2});
  CHECK(s.valid.dense[0] == doctest::Approx(1.25));
  CHECK(s.valid.domain == std::vector<std::int32_t>{1});
  CHECK(s.valid.labels == std::vector<float>{1, 0});
  // Test (CRLF line endings).
  CHECK(s.test.sparse == std::vector<std::int32_t>{2, 3});
  CHECK(s.test.domain == std::vector<std::int32_t>{0});

  // encode_table: new rows without label columns, same encoding.
  const std::string fresh = t.file("new.csv", "user,item,price,region\nu3,i9,30,south\n");
  const Dataset n = encode_table(fresh, parse_table_schema(kSchema, "s"), enc, /*require_labels=*/false);
  CHECK(n.rows == 1);
  CHECK(n.sparse == std::vector<std::int32_t>{3, 0});
  CHECK(n.dense[0] == 0.5f);
  CHECK(n.domain == std::vector<std::int32_t>{1});
  CHECK(n.labels == std::vector<float>{0, 0});
  CHECK(n.schema.sparse[0].vocab == 4);
  const std::string east = t.file("east.csv", "user,item,price,region\nu3,i9,30,east\n");
  CHECK(error_of([&] { encode_table(east, parse_table_schema(kSchema, "s"), enc, false); })
            .find("east.csv:2: column 'region': domain 'east' is not one of the domains the model was trained on") !=
        std::string::npos);
  CHECK(error_of([&] { encode_table(fresh, parse_table_schema(kSchema, "s"), enc, true); })
            .find("column 'click' of the schema is not in the header") != std::string::npos);
}

TEST_CASE("one file: seeded shuffle, 80/10/10, nothing leaks from valid/test") {
  const TempDir t;
  std::string csv = "rowid,x,region,y\n";
  for (int i = 0; i < 100; ++i)
    csv += "r" + std::to_string(i) + "," + std::to_string(i) + "," + (i % 3 ? "a" : "b") + "," +
           std::to_string(i % 2) + "\n";
  const std::string path = t.file("all.csv", csv);
  const TableSchema schema = parse_table_schema("sparse rowid\ndense x\ndomain region\ntask y\n", "s");
  TableEncoding enc;
  const Splits s = load_table(path, schema, {}, &enc);
  CHECK(s.train.rows == 80);
  CHECK(s.valid.rows == 10);
  CHECK(s.test.rows == 10);
  CHECK(s.description == "table all.csv, shuffled (seed 2022) 80/10/10");
  // Every row id is unique, so only training rows have a known id.
  CHECK(s.train.schema.sparse[0].vocab == 81);
  for (const std::int32_t id : s.valid.sparse) CHECK(id == 0);
  for (const std::int32_t id : s.train.sparse) CHECK(id > 0);
  // The three parts hold each row exactly once (x recovered from its scaling).
  std::multiset<long> xs;
  for (const Dataset* ds : {&s.train, &s.valid, &s.test})
    for (const float v : ds->dense) xs.insert(std::lround(v * (enc.dense_max[0] - enc.dense_min[0]) + enc.dense_min[0]));
  std::multiset<long> want;
  for (long i = 0; i < 100; ++i) want.insert(i);
  CHECK(xs == want);

  const Splits again = load_table(path, schema, {});
  CHECK(again.train.dense == s.train.dense);
  TableOptions other;
  other.seed = 7;
  CHECK(load_table(path, schema, other).train.dense != s.train.dense);
  TableOptions in_order;
  in_order.shuffle = false;
  in_order.train_fraction = 0.5;
  in_order.valid_fraction = 0.25;
  const Splits f = load_table(path, schema, in_order);
  CHECK(f.train.rows == 50);
  CHECK(f.valid.rows == 25);
  CHECK(f.train.dense.front() == 0.0f);  // row 0 first, min-max over rows 0..49
  CHECK(f.train.dense.back() == 1.0f);
  CHECK(f.description == "table all.csv, file order 50/25/25");
}

TEST_CASE("headerless TSV, no domain column") {
  const TempDir t;
  const std::string path = t.file("d.tsv", "a\t1.5\t1\nb\t2.5\t0\n\nc\t3.5\t1\n");
  TableSchema schema = parse_table_schema("header no\ncolumns key value label\nsparse key\ndense value\ntask label\n", "s");
  TableOptions o;
  o.shuffle = false;
  o.train_fraction = 1.0;
  o.valid_fraction = 0.0;
  const Splits s = load_table(path, schema, o);
  CHECK(s.train.rows == 3);
  CHECK(s.train.schema.domains == std::vector<std::string>{"all"});
  CHECK(s.train.domain == std::vector<std::int32_t>{0, 0, 0});
  CHECK(s.train.dense == std::vector<float>{0.0f, 0.5f, 1.0f});
  CHECK(s.train.sparse == std::vector<std::int32_t>{1, 2, 3});
  CHECK(s.valid.rows == 0);
}

TEST_CASE("bad input: every error names the file, the line and the column") {
  const TempDir t;
  const TableSchema schema = parse_table_schema(kSchema, "s");
  auto load_train = [&](const std::string& text) {
    return error_of([&] {
      TableOptions o;
      o.shuffle = false;
      load_table(t.file("train.csv", text), schema, o);
    });
  };
  const std::string head = "user,item,price,region,click,buy,note\n";
  CHECK(load_train(head + "u1,i1,10,north,1,0,x\nu1,i1,10,north,1\n")
            .find("train.csv:3: expected 7 fields separated by ',', got 5") != std::string::npos);
  CHECK(load_train(head + "u1,i1,10,north,2,0,x\n")
            .find("train.csv:2: column 'click': label must be 0 or 1, got '2'") != std::string::npos);
  CHECK(load_train(head + "u1,i1,10,north,1,yes,x\n").find("column 'buy': label must be 0 or 1, got 'yes'") !=
        std::string::npos);
  CHECK(load_train(head + "u1,i1,10,north,1,0,x\nu1,i1,nan,north,1,0,x\n")
            .find("train.csv:3: column 'price': expected a finite number, got 'nan'") != std::string::npos);
  CHECK(load_train(head + "u1,i1,inf,north,1,0,x\n").find("got 'inf'") != std::string::npos);
  CHECK(load_train(head + "u1,i1,12abc,north,1,0,x\n").find("got '12abc'") != std::string::npos);
  CHECK(load_train(head + "u1,i1,,north,1,0,x\n").find("column 'price': expected a finite number, got ''") !=
        std::string::npos);
  CHECK(load_train(head + "u1,i1,10,north,1,0,\"open\n").find("train.csv:2: unterminated quoted field") !=
        std::string::npos);
  CHECK(load_train("user,item,cost,region,click,buy\n")
            .find("train.csv:1: column 'price' of the schema is not in the header") != std::string::npos);
  CHECK(load_train(head).find("train.csv: no data rows") != std::string::npos);
  CHECK(error_of([&] { load_table((t.dir / "missing.csv").string(), schema, {}); }).find("missing.csv: cannot open") !=
        std::string::npos);

  // A validation row in a domain the training rows never had: no tower.
  TableOptions o;
  o.valid_path = t.file("valid.csv", "user,item,price,region,click,buy,note\nu1,i1,10,north,1,0,x\nu1,i1,10,east,1,0,x\n");
  o.test_path = t.file("test.csv", kTest);
  CHECK(error_of([&] { load_table(t.file("train.csv", kTrain), schema, o); })
            .find("valid.csv:3: column 'region': domain 'east' does not occur in the training rows") !=
        std::string::npos);
  // Declared domains must all have training rows.
  TableSchema declared = schema;
  declared.domain_values = {"north", "south", "west"};
  o.valid_path = t.file("valid.csv", kValid);
  CHECK(error_of([&] { load_table(t.file("train.csv", kTrain), declared, o); })
            .find("domain 'west' (column 'region') has no training rows") != std::string::npos);
  // ... and rows must be in one of them.
  declared.domain_values = {"south"};
  CHECK(error_of([&] { load_table(t.file("train.csv", kTrain), declared, o); })
            .find("train.csv:2: column 'region': domain 'north' is not one of the schema's domain_values") !=
        std::string::npos);
  TableOptions half;
  half.valid_path = o.valid_path;
  CHECK_THROWS_AS(load_table(t.file("train.csv", kTrain), schema, half), std::invalid_argument);
}

TEST_CASE("domain_values fixes the domain order") {
  const TempDir t;
  TableSchema schema = parse_table_schema(kSchema, "s");
  schema.domain_values = {"south", "north"};
  TableOptions o;
  o.valid_path = t.file("valid.csv", kValid);
  o.test_path = t.file("test.csv", kTest);
  const Splits s = load_table(t.file("train.csv", kTrain), schema, o);
  CHECK(s.train.schema.domains == std::vector<std::string>{"south", "north"});
  CHECK(s.train.domain == std::vector<std::int32_t>{1, 0, 1, 0});
}
