#include "m3oe/util/json_read.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <stdexcept>

namespace m3oe::util {

namespace {
const char* type_name(JsonValue::Type t) {
  switch (t) {
    case JsonValue::Type::null: return "null";
    case JsonValue::Type::boolean: return "a boolean";
    case JsonValue::Type::number: return "a number";
    case JsonValue::Type::string: return "a string";
    case JsonValue::Type::array: return "an array";
    case JsonValue::Type::object: return "an object";
  }
  return "?";
}
[[noreturn]] void wrong_type(JsonValue::Type have, const char* want) {
  throw std::runtime_error(std::string("JSON: expected ") + want + ", found " + type_name(have));
}
}  // namespace

bool JsonValue::as_bool() const {
  if (type_ != Type::boolean) wrong_type(type_, "a boolean");
  return bool_;
}
double JsonValue::as_number() const {
  if (type_ != Type::number) wrong_type(type_, "a number");
  return number_;
}
const std::string& JsonValue::as_string() const {
  if (type_ != Type::string) wrong_type(type_, "a string");
  return string_;
}
const std::vector<JsonValue>& JsonValue::as_array() const {
  if (type_ != Type::array) wrong_type(type_, "an array");
  return array_;
}
std::optional<double> JsonValue::as_optional_number() const {
  if (type_ == Type::null) return std::nullopt;
  return as_number();
}
const std::vector<std::pair<std::string, JsonValue>>& JsonValue::members() const {
  if (type_ != Type::object) wrong_type(type_, "an object");
  return object_;
}
const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [k, v] : members())
    if (k == key) return &v;
  return nullptr;
}
const JsonValue& JsonValue::at(std::string_view key) const {
  const JsonValue* v = find(key);
  if (!v) throw std::runtime_error("JSON: no member \"" + std::string(key) + "\"");
  return *v;
}

// The nlohmann document into JsonValue, members in document order.
class JsonParser {
 public:
  static JsonValue convert(const nlohmann::ordered_json& j, int depth, const std::string& source) {
    if (depth > 200) throw std::runtime_error(source + ": nesting deeper than 200 levels");
    JsonValue v;
    switch (j.type()) {
      case nlohmann::ordered_json::value_t::null:
      case nlohmann::ordered_json::value_t::discarded:
        break;
      case nlohmann::ordered_json::value_t::boolean:
        v.type_ = JsonValue::Type::boolean;
        v.bool_ = j.get<bool>();
        break;
      case nlohmann::ordered_json::value_t::number_integer:
      case nlohmann::ordered_json::value_t::number_unsigned:
      case nlohmann::ordered_json::value_t::number_float:
        v.type_ = JsonValue::Type::number;
        v.number_ = j.get<double>();
        break;
      case nlohmann::ordered_json::value_t::string:
        v.type_ = JsonValue::Type::string;
        v.string_ = j.get<std::string>();
        break;
      case nlohmann::ordered_json::value_t::array:
        v.type_ = JsonValue::Type::array;
        for (const auto& e : j) v.array_.push_back(convert(e, depth + 1, source));
        break;
      case nlohmann::ordered_json::value_t::object:
        v.type_ = JsonValue::Type::object;
        for (const auto& [k, e] : j.items()) v.object_.emplace_back(k, convert(e, depth + 1, source));
        break;
      case nlohmann::ordered_json::value_t::binary:
        throw std::runtime_error(source + ": binary values are not JSON text");
    }
    return v;
  }
};

JsonValue parse_json(std::string_view text, const std::string& source) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text.begin(), text.end());
  } catch (const nlohmann::ordered_json::parse_error& e) {
    // e.byte is the 1-based offset of the byte where parsing stopped.
    int line = 1, col = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') ++line, col = 1;
      else ++col;
    }
    // "[json.exception.parse_error.101] parse error at line 2, column 14: what"
    std::string what = e.what();
    if (const auto at = what.find(": "); at != std::string::npos) what = what.substr(at + 2);
    throw std::runtime_error(source + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }
  return JsonParser::convert(j, 0, source);
}

}  // namespace m3oe::util
