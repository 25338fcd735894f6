#include "m3oe/data/parse.hpp"

#include "m3oe/util/files.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

namespace m3oe::data {

namespace {
std::string location(const std::string& file, std::int64_t line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}
}  // namespace

DataError::DataError(std::string file, std::int64_t line, const std::string& message)
    : std::runtime_error(location(file, line) + ": " + message),
      file_(std::move(file)),
      line_(line) {}

std::string visible(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex_byte = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    out += buf;
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7F) hex_byte(c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, then continuation bytes.
    const std::size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    std::uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      ok = (d >> 6) == 0x2;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      hex_byte(c);
      ++i;
      continue;
    }
    const bool invisible = cp == 0xFEFF || cp == 0x00A0 || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 ||
                           (cp >= 0x80 && cp < 0xA0) || cp == 0xAD;
    if (invisible) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%04X}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out(1, '\'');
  out.append(visible(s.substr(0, kMax)));
  out.append(s.size() > kMax ? "...'" : "'");
  return out;
}

std::string_view strip_utf8_bom(std::string_view text) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

std::string truncation_hint(const LineReader& lines) {
  return lines.unterminated() ? " (the last line has no newline: was the file cut short?)" : "";
}

void fail_at(const std::string& file, std::int64_t line, const std::string& what,
             std::string_view line_text) {
  constexpr std::size_t kMax = 120;
  std::string shown = visible(line_text.substr(0, kMax));
  if (line_text.size() > kMax) shown += "...";
  throw DataError(file, line, what + " (line: \"" + shown + "\")");
}

std::string read_text_file(const std::string& path) {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  if (const std::string why = util::not_a_regular_file(path); !why.empty()) throw DataError(path, 0, why);
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw DataError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  std::string out;
  if (std::fseek(f.get(), 0, SEEK_END) == 0) {
    const long size = std::ftell(f.get());
    if (size > 0) out.reserve(static_cast<std::size_t>(size));
    std::rewind(f.get());
  }
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
  if (std::ferror(f.get())) throw DataError(path, 0, std::string("read error: ") + std::strerror(errno));
  return out;
}

bool LineReader::next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  const std::size_t end = text_.find('\n', pos_);
  const std::size_t stop = end == std::string_view::npos ? text_.size() : end;
  line = text_.substr(pos_, stop - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  unterminated_ = end == std::string_view::npos;
  pos_ = stop + 1;
  ++line_no_;
  return true;
}

void split_fields(std::string_view line, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  if (sep.size() == 1) {  // the common case: memchr-speed single-character scan
    const char c = sep[0];
    for (;;) {
      const void* hit = std::memchr(line.data() + start, c, line.size() - start);
      if (!hit) break;
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(hit) - line.data());
      out.push_back(line.substr(start, at - start));
      start = at + 1;
    }
  } else {
    for (std::size_t at; (at = line.find(sep, start)) != std::string_view::npos;
         start = at + sep.size())
      out.push_back(line.substr(start, at - start));
  }
  out.push_back(line.substr(start));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-') return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-') return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

}  // namespace m3oe::data
