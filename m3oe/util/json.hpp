// json.hpp: the JSON writer of the results files (results.json,
// summary.json, comparison.json), on nlohmann-json (Debian nlohmann-json3-dev).
//
// A streaming interface (begin_object / key / value / end_object) over an
// nlohmann::ordered_json document, so keys keep the order they are written
// in. Numbers are rounded to 9 significant digits (what a float holds, and
// what these files always carried); non-finite numbers (an undefined AUC)
// are written as null. Strings that are not valid UTF-8 (a Latin-1 domain
// name from a user's CSV) get U+FFFD for the bad bytes instead of making
// the file invalid JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace m3oe::util {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open(nlohmann::ordered_json::object()); }
  JsonWriter& end_object() { return close(); }
  JsonWriter& begin_array() { return open(nlohmann::ordered_json::array()); }
  JsonWriter& end_array() { return close(); }
  JsonWriter& key(std::string_view k) {
    key_ = std::string(k);
    return *this;
  }
  JsonWriter& value(std::string_view s) { return put(std::string(s)); }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) { return put(b); }
  JsonWriter& value(long long v) { return put(v); }
  JsonWriter& value(int v) { return value(static_cast<long long>(v)); }
  JsonWriter& value(double v) {
    if (!std::isfinite(v)) return null();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return put(std::strtod(buf, nullptr));
  }
  JsonWriter& null() { return put(nullptr); }
  // The document as compact JSON text.
  const std::string& str() const {
    text_ = done_.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return text_;
  }

 private:
  JsonWriter& open(nlohmann::ordered_json empty) {
    open_.emplace_back(std::move(key_), std::move(empty));
    key_.clear();
    return *this;
  }
  JsonWriter& close() {
    auto [k, v] = std::move(open_.back());
    open_.pop_back();
    key_ = std::move(k);
    return put(std::move(v));
  }
  // Adds `v` to the innermost open object (under the last key) or array, or
  // makes it the document.
  JsonWriter& put(nlohmann::ordered_json v) {
    if (open_.empty()) {
      done_ = std::move(v);
    } else if (open_.back().second.is_object()) {
      open_.back().second[key_] = std::move(v);
    } else {
      open_.back().second.push_back(std::move(v));
    }
    key_.clear();
    return *this;
  }
  std::vector<std::pair<std::string, nlohmann::ordered_json>> open_;  // (key it goes under, value)
  std::string key_;
  nlohmann::ordered_json done_;
  mutable std::string text_;
};

}  // namespace m3oe::util
