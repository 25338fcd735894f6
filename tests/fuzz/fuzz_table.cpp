// libFuzzer target: the table schema parser and the CSV/TSV loader.
// Input: "<schema text>\n%%\n<training file>[\n%%\n<file for encode_table>]".
#include "fuzz_common.hpp"

#include "m3oe/data/table.hpp"

using namespace m3oe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto parts = fuzz::split_parts(in, 3);
  fuzz::expect_clean([&] {
    const data::TableSchema schema = data::parse_table_schema(parts[0], "fuzz.schema");
    // The parsed schema written back must parse to the same text.
    const std::string text = data::to_text(schema);
    if (data::to_text(data::parse_table_schema(text, "round trip")) != text) std::abort();
    const std::string csv = fuzz::put_file("data.csv", parts[1]);
    data::TableOptions o;
    o.shuffle = false;
    o.train_fraction = 0.5;
    o.valid_fraction = 0.25;
    data::TableEncoding enc;
    const data::Splits s = data::load_table(csv, schema, o, &enc);
    if (s.train.rows + s.valid.rows + s.test.rows <= 0) std::abort();
    for (const float v : s.train.dense)
      if (!(v == v) || v - v != 0) std::abort();  // every scaled value finite
    const std::string more = fuzz::put_file("more.csv", parts[2]);
    data::encode_table(more, schema, enc, /*require_labels=*/false);
  });
  return 0;
}
