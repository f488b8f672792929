// A subset of JSON Schema (draft-07 vocabulary) that is enough for our configs, with
// messages that name the key path.
#include <cmath>

#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"

namespace cvtool {
namespace {

std::string type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "value";
  }
}

bool has_type(const Json& v, const std::string& type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") {
    return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  }
  if (type == "number") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  return false;
}

std::string shown(const Json& v) {
  // replace: a --set value is any bytes the shell passed, not always UTF-8.
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::Config, (where.empty() ? std::string("config") : where) + ": " + what);
}

std::string child(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

}  // namespace

void validate_json(const Json& value, const Json& schema, const std::string& where) {
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    std::vector<std::string> types =
        t.is_array() ? t.get<std::vector<std::string>>() : std::vector<std::string>{t.get<std::string>()};
    bool ok = false;
    for (const auto& name : types) ok = ok || has_type(value, name);
    if (!ok) {
      std::string expected;
      for (const auto& name : types) expected += (expected.empty() ? "" : " or ") + name;
      fail(where, "expected " + expected + ", got " + type_name(value) + " " + shown(value));
    }
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& option : schema["enum"]) found = found || option == value;
    if (!found) fail(where, "expected one of " + schema["enum"].dump() + ", got " + shown(value));
  }
  if (value.is_number()) {
    double x = value.get<double>();
    if (schema.contains("minimum") && x < schema["minimum"].get<double>())
      fail(where, "must be >= " + schema["minimum"].dump() + ", got " + shown(value));
    if (schema.contains("maximum") && x > schema["maximum"].get<double>())
      fail(where, "must be <= " + schema["maximum"].dump() + ", got " + shown(value));
    if (schema.contains("exclusiveMinimum") && x <= schema["exclusiveMinimum"].get<double>())
      fail(where, "must be > " + schema["exclusiveMinimum"].dump() + ", got " + shown(value));
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<std::size_t>())
      fail(where, "needs at least " + schema["minItems"].dump() + " items, got " + std::to_string(value.size()));
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>())
      fail(where, "takes at most " + schema["maxItems"].dump() + " items, got " + std::to_string(value.size()));
    if (schema.contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i)
        validate_json(value[i], schema["items"], where + "[" + std::to_string(i) + "]");
    }
  }
  if (value.is_object()) {
    const Json empty = Json::object();
    const Json& props = schema.contains("properties") ? schema["properties"] : empty;
    bool closed = schema.contains("additionalProperties") && schema["additionalProperties"] == false;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (props.contains(it.key())) {
        validate_json(it.value(), props[it.key()], child(where, it.key()));
      } else if (closed) {
        std::string known;
        for (auto p = props.begin(); p != props.end(); ++p) known += (known.empty() ? "" : ", ") + p.key();
        fail(child(where, it.key()), "unknown key (known here: " + known + ")");
      }
    }
    if (schema.contains("required")) {
      for (const auto& key : schema["required"]) {
        if (!value.contains(key.get<std::string>())) fail(child(where, key.get<std::string>()), "is required");
      }
    }
  }
}

Json with_defaults(const Json& value, const Json& schema) {
  Json out = value;
  if (out.is_null() && schema.contains("default")) out = schema["default"];
  if (schema.contains("properties") && (out.is_object() || out.is_null())) {
    if (out.is_null()) out = Json::object();
    for (auto p = schema["properties"].begin(); p != schema["properties"].end(); ++p) {
      const Json& sub = p.value();
      bool is_section = sub.contains("properties");
      if (out.contains(p.key())) {
        // An explicit null is a value ("input_size": null: native size), not a missing key.
        if (!out[p.key()].is_null()) out[p.key()] = with_defaults(out[p.key()], sub);
      } else if (sub.contains("default")) {
        out[p.key()] = with_defaults(sub["default"], sub);
      } else if (is_section) {
        out[p.key()] = with_defaults(Json::object(), sub);
      }
    }
  }
  return out;
}

}  // namespace cvtool
