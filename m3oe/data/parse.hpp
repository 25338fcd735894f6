// parse.hpp: the small text-parsing toolkit shared by the data loaders.
//
// Every loader reads its whole file into memory once and walks it with
// string_views: no iostream per line, no regex. Any problem becomes a
// DataError whose message names the file, the 1-based line number, what was
// wrong and the offending text, e.g.
//   ratings.dat:17: rating must be an integer 1..5, got '7' (line: "1::2::7::0")
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace m3oe::data {

// A bad input file. `line` is 1-based; 0 means "the file as a whole".
class DataError : public std::runtime_error {
 public:
  DataError(std::string file, std::int64_t line, const std::string& message);
  const std::string& file() const { return file_; }
  std::int64_t line() const { return line_; }

 private:
  std::string file_;
  std::int64_t line_;
};

// Throws DataError "file:line: what (line: "text")"; the text is shortened
// to a readable length.
[[noreturn]] void fail_at(const std::string& file, std::int64_t line, const std::string& what,
                          std::string_view line_text);

// Reads the whole file (binary). Throws DataError naming the path if it
// cannot be opened or read.
std::string read_text_file(const std::string& path);

// The text without a leading UTF-8 byte order mark (EF BB BF), which some
// editors and spreadsheet programs write and which would otherwise become
// part of the first column's name.
std::string_view strip_utf8_bom(std::string_view text);

// Walks a buffer line by line. Handles "\n" and "\r\n" endings and a last
// line without a newline (see unterminated()); skips a UTF-8 byte order mark.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(strip_utf8_bom(text)) {}
  // The next line (without its ending) into `line`; false at the end.
  bool next(std::string_view& line);
  // 1-based number of the line last returned by next().
  std::int64_t line_number() const { return line_no_; }
  // True if the line last returned by next() is the file's last and has no
  // newline: the file may have been cut short (a copy or download that
  // stopped) inside that line.
  bool unterminated() const { return unterminated_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::int64_t line_no_ = 0;
  bool unterminated_ = false;
};

// A hint to append to the message about a malformed line when the line is
// the unterminated last one: " (the last line has no newline: was the file
// cut short?)", else "".
std::string truncation_hint(const LineReader& lines);

// Splits `line` at every occurrence of `sep` (a multi-character separator
// such as "::" is allowed) into `out` (cleared first).
void split_fields(std::string_view line, std::string_view sep, std::vector<std::string_view>& out);

// Removes leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// Whole-string parses: false if `s` is empty, has trailing junk or is out
// of range. parse_double accepts a leading '+', and returns false for
// anything that is not a finite number (nan, inf, 1e999).
bool parse_int64(std::string_view s, std::int64_t& out);
bool parse_double(std::string_view s, double& out);

// The text with every byte a reader could not see written as an escape:
// control characters (a tab excepted) and bytes that are not UTF-8 as \xNN, invisible code
// points (the byte order mark U+FEFF, zero-width spaces and joiners U+200B..
// U+200D, U+2060, a no-break space U+00A0) as \u{XXXX}. Printable ASCII and
// visible UTF-8 (accents, CJK) are kept. For names and values in messages.
std::string visible(std::string_view s);

// "'text'" shortened to at most ~60 characters and made visible(), for messages.
std::string quoted(std::string_view s);

}  // namespace m3oe::data
