#include "m3oe/data/table_schema.hpp"

#include "m3oe/data/parse.hpp"

#include <algorithm>
#include <set>

namespace m3oe::data {

namespace {

// Splits at runs of spaces/tabs; drops a trailing `# comment`.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] == '#') break;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    out.push_back(line.substr(start, i - start));
  }
  return out;
}

char separator_from_word(std::string_view w) {
  if (w == "comma") return ',';
  if (w == "tab" || w == "\\t") return '\t';
  if (w == "semicolon") return ';';
  if (w == "pipe") return '|';
  if (w == "space") return ' ';
  if (w.size() == 1 && w[0] != '"') return w[0];
  return 0;
}

std::string separator_word(char c) {
  switch (c) {
    case ',': return "comma";
    case '\t': return "tab";
    case ';': return "semicolon";
    case '|': return "pipe";
    case ' ': return "space";
    default: return std::string(1, c);
  }
}

void check_unique(const std::vector<std::string>& names, const char* role, const std::string& source) {
  std::set<std::string> seen;
  for (const std::string& n : names)
    if (!seen.insert(n).second)
      throw DataError(source, 0, std::string("column '") + visible(n) + "' is declared twice as " + role);
}

// A name with a control character (a stray carriage return of a CRLF file, a
// NUL) cannot be a column: it would print invisibly and would not survive
// being written back (the line reader drops a line's last '\r').
void check_printable(const std::vector<std::string>& names, const char* role, const std::string& source) {
  for (const std::string& n : names)
    for (const char c : n)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        throw DataError(source, 0, std::string("the ") + role + " name '" + visible(n) +
                                       "' holds a control character");
}

// A column in two roles that must exclude each other, e.g. a feature that is
// also a task: the model would read its own label (a test AUC of 1.0).
void check_disjoint(const std::vector<std::string>& a, const char* role_a, const std::vector<std::string>& b,
                    const char* role_b, const char* why, const std::string& source) {
  for (const std::string& n : a)
    if (std::find(b.begin(), b.end(), n) != b.end())
      throw DataError(source, 0, "column '" + visible(n) + "' is declared both `" + role_a + "` and `" + role_b +
                                     "`: " + why);
}

}  // namespace

void TableSchema::validate(const std::string& source) const {
  if (tasks.empty()) throw DataError(source, 0, "no `task` column: at least one 0/1 label column is needed");
  if (sparse.empty() && dense.empty())
    throw DataError(source, 0, "no feature columns: declare at least one `sparse` or `dense` column");
  check_printable(sparse, "sparse column", source);
  check_printable(dense, "dense column", source);
  check_printable(tasks, "task column", source);
  check_printable(columns, "column", source);
  check_printable(domain_values, "domain value", source);
  if (!domain.empty()) check_printable({domain}, "domain column", source);
  check_unique(sparse, "sparse", source);
  check_unique(dense, "dense", source);
  check_unique(tasks, "task", source);
  check_unique(domain_values, "a domain value", source);
  const char* leak = "a label cannot be a feature (the model would read the answer)";
  check_disjoint(sparse, "sparse", tasks, "task", leak, source);
  check_disjoint(dense, "dense", tasks, "task", leak, source);
  check_disjoint(sparse, "sparse", dense, "dense", "a column is either categorical or numeric", source);
  if (!domain.empty())
    check_disjoint({domain}, "domain", tasks, "task",
                   "the label would pick the towers (every row's domain tells its answer)", source);
  if (!domain_values.empty() && domain.empty())
    throw DataError(source, 0, "`domain_values` given without a `domain` column");
  if (!header) {
    if (columns.empty()) throw DataError(source, 0, "`header no` needs a `columns` line naming every column in file order");
    check_unique(columns, "in `columns`", source);
    auto need = [&](const std::string& name) {
      if (std::find(columns.begin(), columns.end(), name) == columns.end())
        throw DataError(source, 0, "column '" + visible(name) + "' is used but not listed in `columns`");
    };
    for (const auto& n : sparse) need(n);
    for (const auto& n : dense) need(n);
    for (const auto& n : tasks) need(n);
    if (!domain.empty()) need(domain);
  }
}

TableSchema parse_table_schema(std::string_view text, const std::string& source) {
  TableSchema s;
  bool saw_domain = false;
  LineReader lines(text);
  for (std::string_view line; lines.next(line);) {
    const std::vector<std::string_view> w = words(line);
    if (w.empty()) continue;
    const std::int64_t n = lines.line_number();
    const std::string_view key = w[0];
    auto rest = [&] {
      if (w.size() < 2) fail_at(source, n, "`" + std::string(key) + "` needs at least one column name", line);
      return std::vector<std::string>(w.begin() + 1, w.end());
    };
    auto one = [&] {
      if (w.size() != 2) fail_at(source, n, "`" + std::string(key) + "` takes exactly one value", line);
      return w[1];
    };
    auto append = [](std::vector<std::string>& to, const std::vector<std::string>& more) {
      to.insert(to.end(), more.begin(), more.end());
    };
    if (key == "separator") {
      s.separator = separator_from_word(one());
      if (s.separator == 0)
        fail_at(source, n, "separator must be one character or comma/tab/semicolon/pipe/space", line);
    } else if (key == "header") {
      const std::string_view v = one();
      if (v == "yes" || v == "true" || v == "1") s.header = true;
      else if (v == "no" || v == "false" || v == "0") s.header = false;
      else fail_at(source, n, "header must be yes or no, got " + quoted(v), line);
    } else if (key == "columns") {
      append(s.columns, rest());
    } else if (key == "sparse") {
      append(s.sparse, rest());
    } else if (key == "dense") {
      append(s.dense, rest());
    } else if (key == "task") {
      append(s.tasks, rest());
    } else if (key == "domain") {
      if (saw_domain) fail_at(source, n, "only one `domain` column is allowed", line);
      s.domain = std::string(one());
      saw_domain = true;
    } else if (key == "domain_values") {
      append(s.domain_values, rest());
    } else {
      fail_at(source, n, "unknown key " + quoted(key) +
                             " (known: separator header columns sparse dense domain domain_values task)",
              line);
    }
  }
  s.validate(source);
  return s;
}

TableSchema read_table_schema(const std::string& path) {
  return parse_table_schema(read_text_file(path), path);
}

std::string to_text(const TableSchema& s) {
  std::string out;
  auto line = [&](const char* key, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += key;
    for (const auto& n : names) out += " " + n;
    out += "\n";
  };
  if (s.separator != 0) out += "separator " + separator_word(s.separator) + "\n";
  out += s.header ? "header yes\n" : "header no\n";
  line("columns", s.columns);
  line("sparse", s.sparse);
  line("dense", s.dense);
  if (!s.domain.empty()) out += "domain " + s.domain + "\n";
  line("domain_values", s.domain_values);
  line("task", s.tasks);
  return out;
}

char table_separator(const TableSchema& schema, const std::string& path) {
  if (schema.separator != 0) return schema.separator;
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".tsv") || ends_with(".tab") ? '\t' : ',';
}

}  // namespace m3oe::data
