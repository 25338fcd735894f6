// table_schema.hpp: which columns of a user's CSV/TSV file mean what.
//
// A schema file is plain text, one setting per line, `#` starts a comment:
//
//   separator ,              # one character, or: comma tab semicolon pipe space
//   header yes               # yes: line 1 names the columns (default); no: see `columns`
//   sparse user_id item_id   # categorical features, one embedding table each
//   dense price age          # numeric features (min-max scaled on the training rows)
//   domain region            # the column that says which domain a row belongs to
//   domain_values north south   # optional: the domains and their order (ids 0..D-1)
//   task click               # binary labels (0/1), one line or one name per task
//   task buy
//
// With `header no`, `columns a b c ...` must name every column of the file
// in order. Columns the schema does not mention are ignored. Without a
// `domain` line every row is in one domain called "all". Keys may repeat
// (`sparse a` then `sparse b`) and take any number of names. docs/data.md
// has the whole format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace m3oe::data {

struct TableSchema {
  char separator = 0;  // 0: by file name, '\t' for *.tsv / *.tab, else ','
  bool header = true;
  std::vector<std::string> columns;  // header = false: all column names in file order
  std::vector<std::string> sparse;
  std::vector<std::string> dense;
  std::string domain;                      // empty: one domain "all"
  std::vector<std::string> domain_values;  // optional fixed domain list
  std::vector<std::string> tasks;

  // Throws DataError (parse.hpp) naming `source` if no task, no feature,
  // a column declared twice in one role, or header = false without columns
  // that name every used column.
  void validate(const std::string& source) const;
};

// Parses schema text; errors name `source` and the 1-based line.
TableSchema parse_table_schema(std::string_view text, const std::string& source);
// Reads and parses a schema file (errors name the path and line).
TableSchema read_table_schema(const std::string& path);
// The schema as schema-file text (parse_table_schema reads it back).
std::string to_text(const TableSchema& schema);

// The separator for `path` under `schema` (resolves separator = 0).
char table_separator(const TableSchema& schema, const std::string& path);

}  // namespace m3oe::data
