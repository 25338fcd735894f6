// table.cpp: see table.hpp. Two stages: parse every file into provisional
// codes (one dictionary per column, shared by the files), then fit the
// encoding on the training rows and write the three datasets.
#include "m3oe/data/table.hpp"

#include "m3oe/data/parse.hpp"
#include "m3oe/data/split.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <stdexcept>
#include <unordered_map>

namespace m3oe::data {

namespace {

// Raw value -> provisional code, in order of first appearance. The views
// point into the files' text, which outlives the dictionary.
class Dictionary {
 public:
  std::int32_t code(std::string_view v) {
    const auto [it, inserted] = map_.try_emplace(v, static_cast<std::int32_t>(values_.size()));
    if (inserted) values_.push_back(v);
    return it->second;
  }
  std::string_view value(std::int32_t code) const { return values_[static_cast<std::size_t>(code)]; }
  std::size_t size() const { return values_.size(); }

 private:
  std::unordered_map<std::string_view, std::int32_t> map_;
  std::vector<std::string_view> values_;
};

struct ParsedFile {
  std::string path;
  std::string text;                  // owns the bytes of the dictionaries' views
  std::deque<std::string> unquoted;  // fields that needed "" unescaping
  std::vector<std::int64_t> line;    // [rows] 1-based line numbers
  std::vector<std::int32_t> sparse;  // [rows, ns] provisional codes
  std::vector<double> dense;         // [rows, nd] raw values
  std::vector<std::int32_t> domain;  // [rows] provisional code (0 without a domain column)
  std::vector<float> labels;         // [rows, T]
  std::int64_t rows() const { return static_cast<std::int64_t>(line.size()); }
};

// Positions of the used columns in a file's records.
struct ColumnPositions {
  std::size_t count = 0;  // fields per record
  std::vector<std::size_t> sparse, dense, tasks;
  std::size_t domain = 0;
};

// Splits one record at `sep`, honouring double quotes: "a, b" is one field
// and "" inside quotes is a literal quote. Spaces around fields are
// trimmed. Returns an error text, or an empty string on success.
std::string split_record(std::string_view line, char sep, std::vector<std::string_view>& out,
                         std::deque<std::string>& arena) {
  if (line.find('"') == std::string_view::npos) {  // fast path, no quoting
    split_fields(line, std::string_view(&sep, 1), out);
    for (auto& f : out) f = trim(f);
    return {};
  }
  out.clear();
  std::size_t i = 0;
  for (;;) {
    while (i < line.size() && line[i] != sep && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      std::string value;
      bool escaped = false;
      std::size_t j = i + 1, start = j;
      for (;; ++j) {
        if (j >= line.size()) return "unterminated quoted field (a quoted field cannot span lines)";
        if (line[j] != '"') continue;
        if (j + 1 < line.size() && line[j + 1] == '"') {  // "" -> "
          value.append(line.substr(start, j + 1 - start));
          escaped = true;
          start = j + 2;
          ++j;
          continue;
        }
        break;
      }
      if (escaped) {
        value.append(line.substr(start, j - start));
        arena.push_back(std::move(value));
        out.push_back(arena.back());
      } else {
        out.push_back(line.substr(i + 1, j - i - 1));
      }
      i = j + 1;
      while (i < line.size() && line[i] != sep && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != sep) return "unexpected text after a closing quote";
    } else {
      const std::size_t end = std::min(line.find(sep, i), line.size());
      out.push_back(trim(line.substr(i, end - i)));
      i = end;
    }
    if (i >= line.size()) return {};
    ++i;  // past the separator
    if (i == line.size()) {  // a trailing separator: one more, empty field
      out.push_back({});
      return {};
    }
  }
}

ColumnPositions find_columns(const std::vector<std::string_view>& names, const TableSchema& schema,
                             bool with_labels, const std::string& file, std::int64_t header_line) {
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!index.try_emplace(names[i], i).second)
      throw DataError(file, header_line, "column name '" + visible(names[i]) + "' appears twice");
  auto position = [&](const std::string& name) {
    const auto it = index.find(name);
    if (it == index.end()) {
      std::string have;
      for (const auto& n : names) have += (have.empty() ? "" : ", ") + visible(n);
      throw DataError(file, header_line, "column '" + visible(name) + "' of the schema is not in the " +
                                             (schema.header ? "header" : "schema's `columns`") +
                                             " (columns: " + have + ")");
    }
    return it->second;
  };
  ColumnPositions p;
  p.count = names.size();
  for (const auto& n : schema.sparse) p.sparse.push_back(position(n));
  for (const auto& n : schema.dense) p.dense.push_back(position(n));
  if (with_labels)
    for (const auto& n : schema.tasks) p.tasks.push_back(position(n));
  if (!schema.domain.empty()) p.domain = position(schema.domain);
  return p;
}

// Reads one file into provisional codes. Without labels the task columns
// need not exist and every label is 0.
std::unique_ptr<ParsedFile> parse_file(const std::string& path, const TableSchema& schema, bool with_labels,
                                       std::vector<Dictionary>& sparse_dicts, Dictionary& domain_dict) {
  auto f = std::make_unique<ParsedFile>();
  f->path = path;
  f->text = read_text_file(path);
  const char sep = table_separator(schema, path);
  LineReader lines(f->text);
  std::vector<std::string_view> fields;
  std::string_view line;

  ColumnPositions cols;
  if (schema.header) {
    if (!lines.next(line)) throw DataError(path, 0, "empty file: no header line");
    const std::string err = split_record(line, sep, fields, f->unquoted);
    if (!err.empty()) fail_at(path, 1, err, line);
    cols = find_columns(fields, schema, with_labels, path, 1);
  } else {
    std::vector<std::string_view> names(schema.columns.begin(), schema.columns.end());
    cols = find_columns(names, schema, with_labels, path, 0);
  }

  const std::size_t nt = schema.tasks.size();
  while (lines.next(line)) {
    if (trim(line).empty()) continue;
    const std::int64_t n = lines.line_number();
    const std::string err = split_record(line, sep, fields, f->unquoted);
    if (!err.empty()) fail_at(path, n, err + truncation_hint(lines), line);
    if (fields.size() != cols.count)
      fail_at(path, n, "expected " + std::to_string(cols.count) + " fields separated by '" +
                           visible(std::string_view(&sep, 1)) + "', got " + std::to_string(fields.size()) +
                           truncation_hint(lines),
              line);
    f->line.push_back(n);
    for (std::size_t j = 0; j < cols.sparse.size(); ++j)
      f->sparse.push_back(sparse_dicts[j].code(fields[cols.sparse[j]]));
    for (std::size_t j = 0; j < cols.dense.size(); ++j) {
      double v = 0;
      const std::string_view text = fields[cols.dense[j]];
      if (!parse_double(text, v))
        fail_at(path, n, "column '" + schema.dense[j] + "': expected a finite number, got " + quoted(text) +
                             truncation_hint(lines),
                line);
      f->dense.push_back(v);
    }
    f->domain.push_back(schema.domain.empty() ? 0 : domain_dict.code(fields[cols.domain]));
    if (!with_labels) f->labels.insert(f->labels.end(), nt, 0.0f);
    for (std::size_t t = 0; t < cols.tasks.size(); ++t) {
      const std::string_view text = fields[cols.tasks[t]];
      double v = -1;
      if (text == "0") v = 0;
      else if (text == "1") v = 1;
      else if (!parse_double(text, v)) v = -1;
      if (v != 0 && v != 1)
        fail_at(path, n, "column '" + schema.tasks[t] + "': label must be 0 or 1, got " + quoted(text) +
                             truncation_hint(lines),
                line);
      f->labels.push_back(static_cast<float>(v));
    }
  }
  if (f->rows() == 0) throw DataError(path, 0, "no data rows");
  return f;
}

struct RowRef {
  std::size_t file;
  std::int64_t row;
};

std::string base_name(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Fits the encoding on the training rows: sorted distinct values of each
// sparse column, the domain list, dense min / max.
TableEncoding fit_encoding(const TableSchema& schema, const std::vector<std::unique_ptr<ParsedFile>>& files,
                           const std::vector<RowRef>& train, const std::vector<Dictionary>& sparse_dicts,
                           const Dictionary& domain_dict) {
  const std::size_t ns = schema.sparse.size(), nd = schema.dense.size();
  TableEncoding enc;
  enc.sparse_values.resize(ns);
  for (std::size_t j = 0; j < ns; ++j) {
    std::vector<char> seen(sparse_dicts[j].size(), 0);
    for (const RowRef& r : train)
      seen[static_cast<std::size_t>(files[r.file]->sparse[static_cast<std::size_t>(r.row) * ns + j])] = 1;
    for (std::size_t c = 0; c < seen.size(); ++c)
      if (seen[c]) enc.sparse_values[j].emplace_back(sparse_dicts[j].value(static_cast<std::int32_t>(c)));
    std::sort(enc.sparse_values[j].begin(), enc.sparse_values[j].end());
  }
  if (schema.domain.empty()) {
    enc.domains = {"all"};
  } else if (!schema.domain_values.empty()) {
    enc.domains = schema.domain_values;
  } else {
    std::vector<char> seen(domain_dict.size(), 0);
    for (const RowRef& r : train) seen[static_cast<std::size_t>(files[r.file]->domain[static_cast<std::size_t>(r.row)])] = 1;
    for (std::size_t c = 0; c < seen.size(); ++c)
      if (seen[c]) enc.domains.emplace_back(domain_dict.value(static_cast<std::int32_t>(c)));
    std::sort(enc.domains.begin(), enc.domains.end());
  }
  enc.dense_min.assign(nd, 0.0);
  enc.dense_max.assign(nd, 0.0);
  for (std::size_t j = 0; j < nd; ++j) {
    bool first = true;
    for (const RowRef& r : train) {
      const double v = files[r.file]->dense[static_cast<std::size_t>(r.row) * nd + j];
      enc.dense_min[j] = first ? v : std::min(enc.dense_min[j], v);
      enc.dense_max[j] = first ? v : std::max(enc.dense_max[j], v);
      first = false;
    }
  }
  return enc;
}

// Provisional code -> final id, from a fitted encoding. Sparse: 1 + the
// position among the sorted training values, 0 if unseen. Domain: the
// position in the domain list, -1 if the domain has no tower.
struct CodeMaps {
  std::vector<std::vector<std::int32_t>> sparse;
  std::vector<std::int32_t> domain;
};

CodeMaps code_maps(const TableSchema& schema, const TableEncoding& enc,
                   const std::vector<Dictionary>& sparse_dicts, const Dictionary& domain_dict) {
  CodeMaps m;
  for (std::size_t j = 0; j < sparse_dicts.size(); ++j) {
    const std::vector<std::string>& sorted = enc.sparse_values[j];
    std::vector<std::int32_t> ids(sparse_dicts[j].size(), 0);
    for (std::size_t c = 0; c < ids.size(); ++c) {
      const std::string_view v = sparse_dicts[j].value(static_cast<std::int32_t>(c));
      const auto it = std::lower_bound(sorted.begin(), sorted.end(), v,
                                       [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
      if (it != sorted.end() && std::string_view(*it) == v) ids[c] = static_cast<std::int32_t>(it - sorted.begin()) + 1;
    }
    m.sparse.push_back(std::move(ids));
  }
  if (schema.domain.empty()) {
    m.domain = {0};
  } else {
    m.domain.assign(domain_dict.size(), -1);
    for (std::size_t c = 0; c < domain_dict.size(); ++c) {
      const auto it = std::find(enc.domains.begin(), enc.domains.end(), domain_dict.value(static_cast<std::int32_t>(c)));
      if (it != enc.domains.end()) m.domain[c] = static_cast<std::int32_t>(it - enc.domains.begin());
    }
  }
  return m;
}

// Throws DataError at the first row whose domain has no tower.
void check_domains(const TableSchema& schema, const std::vector<std::unique_ptr<ParsedFile>>& files,
                   const std::vector<RowRef>& rows, const CodeMaps& maps, const Dictionary& domain_dict,
                   bool fitted_on_training) {
  for (const RowRef& r : rows) {
    const ParsedFile& f = *files[r.file];
    const std::int32_t code = f.domain[static_cast<std::size_t>(r.row)];
    if (maps.domain[static_cast<std::size_t>(code)] >= 0) continue;
    throw DataError(f.path, f.line[static_cast<std::size_t>(r.row)],
                    "column '" + schema.domain + "': domain '" + std::string(domain_dict.value(code)) + "' " +
                        (!schema.domain_values.empty() ? "is not one of the schema's domain_values"
                         : fitted_on_training
                             ? "does not occur in the training rows, so the model has no tower for it"
                             : "is not one of the domains the model was trained on"));
  }
}

Schema dataset_schema(const TableSchema& schema, const TableEncoding& enc) {
  Schema out;
  for (std::size_t j = 0; j < schema.sparse.size(); ++j)
    out.sparse.push_back({schema.sparse[j], static_cast<std::int32_t>(enc.sparse_values[j].size() + 1)});
  out.dense = schema.dense;
  out.tasks = schema.tasks;
  out.domains = enc.domains;
  out.domain_column = schema.domain;
  return out;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Dataset encode_rows(const Schema& out_schema, const std::vector<std::unique_ptr<ParsedFile>>& files,
                    const std::vector<RowRef>& rows, const CodeMaps& maps, const TableEncoding& enc) {
  const std::size_t ns = out_schema.sparse.size(), nd = out_schema.dense.size(), nt = out_schema.tasks.size();
  const std::size_t n = rows.size();
  Dataset ds;
  ds.schema = out_schema;
  ds.rows = static_cast<std::int64_t>(n);
  ds.sparse.resize(n * ns);
  ds.dense.resize(n * nd);
  ds.domain.resize(n);
  ds.labels.resize(n * nt);
  for (std::size_t i = 0; i < n; ++i) {
    const ParsedFile& f = *files[rows[i].file];
    const std::size_t r = static_cast<std::size_t>(rows[i].row);
    for (std::size_t j = 0; j < ns; ++j)
      ds.sparse[i * ns + j] = maps.sparse[j][static_cast<std::size_t>(f.sparse[r * ns + j])];
    for (std::size_t j = 0; j < nd; ++j) {
      const double range = enc.dense_max[j] - enc.dense_min[j];
      const double x = f.dense[r * nd + j];
      const double scaled = (x - enc.dense_min[j]) / (range > 0 ? range : 1.0);
      // A value far outside the training range (or a range that overflows)
      // would become inf in float: refuse it, in every split.
      if (!(std::abs(scaled) <= double(std::numeric_limits<float>::max())))
        throw DataError(f.path, f.line[r],
                        "column '" + out_schema.dense[j] + "': value " + number_text(x) +
                            " scaled with the training range [" + number_text(enc.dense_min[j]) + ", " +
                            number_text(enc.dense_max[j]) + "] gives " + number_text(scaled) +
                            ", which does not fit a float");
      ds.dense[i * nd + j] = static_cast<float>(scaled);
    }
    ds.domain[i] = maps.domain[static_cast<std::size_t>(f.domain[r])];
    for (std::size_t t = 0; t < nt; ++t) ds.labels[i * nt + t] = f.labels[r * nt + t];
  }
  return ds;
}

std::vector<RowRef> all_rows(const std::vector<std::unique_ptr<ParsedFile>>& files, std::size_t k) {
  std::vector<RowRef> rows;
  for (std::int64_t r = 0; r < files[k]->rows(); ++r) rows.push_back({k, r});
  return rows;
}

}  // namespace

Splits load_table(const std::string& data_path, const TableSchema& schema, const TableOptions& options,
                  TableEncoding* encoding_out) {
  schema.validate("table schema");
  const bool separate = !options.valid_path.empty() || !options.test_path.empty();
  if (separate && (options.valid_path.empty() || options.test_path.empty()))
    throw std::invalid_argument("load_table: give both valid_path and test_path, or neither");
  if (!separate) check_split_fractions(options.train_fraction, options.valid_fraction);

  std::vector<Dictionary> sparse_dicts(schema.sparse.size());
  Dictionary domain_dict;
  std::vector<std::unique_ptr<ParsedFile>> files;
  files.push_back(parse_file(data_path, schema, true, sparse_dicts, domain_dict));
  if (separate) {
    files.push_back(parse_file(options.valid_path, schema, true, sparse_dicts, domain_dict));
    files.push_back(parse_file(options.test_path, schema, true, sparse_dicts, domain_dict));
  }

  // Which rows go where.
  std::array<std::vector<RowRef>, 3> parts;  // train, valid, test
  std::string description;
  if (separate) {
    for (std::size_t k = 0; k < 3; ++k) parts[k] = all_rows(files, k);
    description = "table " + base_name(data_path) + " / " + base_name(options.valid_path) + " / " +
                  base_name(options.test_path) + " (separate files)";
  } else {
    const std::int64_t n = files[0]->rows();
    const std::vector<std::int64_t> order = options.shuffle ? shuffled_order(n, options.seed) : identity_order(n);
    const SplitSizes s = split_sizes(n, options.train_fraction, options.valid_fraction);
    for (std::int64_t i = 0; i < n; ++i)
      parts[i < s.train ? 0 : i < s.train + s.valid ? 1 : 2].push_back({0, order[static_cast<std::size_t>(i)]});
    description = "table " + base_name(data_path) + ", " +
                  (options.shuffle ? "shuffled (seed " + std::to_string(options.seed) + ") " : "file order ") +
                  fractions_label(options.train_fraction, options.valid_fraction);
  }
  if (parts[0].empty())
    throw DataError(data_path, 0, "no training rows (the file has " + std::to_string(files[0]->rows()) +
                                      " rows; raise train_fraction or add data)");

  TableEncoding enc = fit_encoding(schema, files, parts[0], sparse_dicts, domain_dict);
  for (std::size_t j = 0; j < schema.dense.size(); ++j)
    if (!std::isfinite(enc.dense_max[j] - enc.dense_min[j]))
      throw DataError(data_path, 0, "column '" + schema.dense[j] + "': the training values span [" +
                                        number_text(enc.dense_min[j]) + ", " + number_text(enc.dense_max[j]) +
                                        "], a range too wide to scale (max - min overflows)");
  const CodeMaps maps = code_maps(schema, enc, sparse_dicts, domain_dict);
  // Every row's domain needs a tower, and every tower training rows.
  for (const auto& part : parts) check_domains(schema, files, part, maps, domain_dict, true);
  std::vector<std::int64_t> train_rows_per_domain(enc.domains.size(), 0);
  for (const RowRef& r : parts[0])
    ++train_rows_per_domain[static_cast<std::size_t>(maps.domain[static_cast<std::size_t>(files[r.file]->domain[static_cast<std::size_t>(r.row)])])];
  for (std::size_t d = 0; d < enc.domains.size(); ++d)
    if (train_rows_per_domain[d] == 0)
      throw DataError(data_path, 0, "domain '" + enc.domains[d] + "' (column '" + schema.domain +
                                        "') has no training rows, so its towers cannot be trained");

  const Schema out_schema = dataset_schema(schema, enc);
  Splits splits;
  splits.train = encode_rows(out_schema, files, parts[0], maps, enc);
  splits.valid = encode_rows(out_schema, files, parts[1], maps, enc);
  splits.test = encode_rows(out_schema, files, parts[2], maps, enc);
  splits.description = std::move(description);
  if (encoding_out) *encoding_out = std::move(enc);
  return splits;
}

Splits load_table(const std::string& data_path, const std::string& schema_path, const TableOptions& options,
                  TableEncoding* encoding) {
  return load_table(data_path, read_table_schema(schema_path), options, encoding);
}

Dataset encode_table(const std::string& path, const TableSchema& schema, const TableEncoding& encoding,
                     bool require_labels) {
  schema.validate("table schema");
  if (encoding.sparse_values.size() != schema.sparse.size() || encoding.dense_min.size() != schema.dense.size() ||
      encoding.dense_max.size() != schema.dense.size() || encoding.domains.empty())
    throw std::invalid_argument("encode_table: the encoding does not match the schema (" +
                                std::to_string(encoding.sparse_values.size()) + " sparse, " +
                                std::to_string(encoding.dense_min.size()) + " dense columns fitted; schema has " +
                                std::to_string(schema.sparse.size()) + " and " + std::to_string(schema.dense.size()) + ")");
  std::vector<Dictionary> sparse_dicts(schema.sparse.size());
  Dictionary domain_dict;
  std::vector<std::unique_ptr<ParsedFile>> files;
  files.push_back(parse_file(path, schema, require_labels, sparse_dicts, domain_dict));
  const std::vector<RowRef> rows = all_rows(files, 0);
  const CodeMaps maps = code_maps(schema, encoding, sparse_dicts, domain_dict);
  check_domains(schema, files, rows, maps, domain_dict, false);
  return encode_rows(dataset_schema(schema, encoding), files, rows, maps, encoding);
}

}  // namespace m3oe::data
