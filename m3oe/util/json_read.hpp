// json_read.hpp: reads back the results.json files the runs write (m3oe
// compare merges them into one table), on nlohmann-json's parser.
//
// The whole grammar of RFC 8259 is accepted: objects, arrays, strings with
// escapes (\uXXXX, surrogate pairs included, become UTF-8), numbers, true,
// false, null. Errors name the source, line and column. JsonValue keeps an
// object's members in document order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace m3oe::util {

class JsonValue {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  // Accessors throw std::runtime_error naming the expected type.
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const std::vector<JsonValue>& as_array() const;
  // A number, or nullopt for null (how results.json writes an undefined AUC).
  std::optional<double> as_optional_number() const;

  // Object members: find returns nullptr when absent, at throws naming the key.
  const JsonValue* find(std::string_view key) const;
  const JsonValue& at(std::string_view key) const;
  const std::vector<std::pair<std::string, JsonValue>>& members() const;

 private:
  friend class JsonParser;
  Type type_ = Type::null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

// Parses one JSON document; throws std::runtime_error "<source>:<line>:<col>: ...".
JsonValue parse_json(std::string_view text, const std::string& source = "json");

}  // namespace m3oe::util
