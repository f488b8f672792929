#include "cvtool/report/schema_doc.hpp"

#include <algorithm>
#include <sstream>

namespace cvtool {

using Json = nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string number_text(const Json& v) {
  if (v.is_number_float()) {
    std::ostringstream os;
    os << v.get<double>();
    return os.str();
  }
  return v.dump();
}

std::string type_text(const Json& node) {
  if (node.contains("enum")) {
    std::vector<std::string> values;
    for (const auto& v : node["enum"]) values.push_back(v.dump());
    return values.size() == 1 ? values[0] : "one of " + join(values, ", ");
  }
  std::vector<std::string> types;
  if (node.contains("type")) {
    const Json& t = node["type"];
    for (const auto& name : t.is_array() ? t : Json::array({t})) {
      std::string s = name.get<std::string>();
      if (s == "string" && node.value("format", "") == "path") s = "path";
      if (s == "array" && node.contains("items")) s = "array of " + type_text(node["items"]);
      types.push_back(s);
    }
  }
  return types.empty() ? "any" : join(types, " or ");
}

std::string constraint_text(const Json& node) {
  std::vector<std::string> parts;
  bool has_min = node.contains("minimum"), has_max = node.contains("maximum");
  if (node.contains("exclusiveMinimum")) parts.push_back("> " + number_text(node["exclusiveMinimum"]));
  if (has_min && has_max)
    parts.push_back(number_text(node["minimum"]) + " ≤ x ≤ " + number_text(node["maximum"]));
  else if (has_min)
    parts.push_back("≥ " + number_text(node["minimum"]));
  else if (has_max)
    parts.push_back("≤ " + number_text(node["maximum"]));
  if (node.contains("minItems") && node.contains("maxItems") && node["minItems"] == node["maxItems"])
    parts.push_back(node["minItems"].dump() + " items");
  else {
    if (node.contains("minItems")) parts.push_back("at least " + node["minItems"].dump() + " items");
    if (node.contains("maxItems")) parts.push_back("at most " + node["maxItems"].dump() + " items");
  }
  if (node.contains("items")) {
    std::string inner = constraint_text(node["items"]);
    if (!inner.empty()) parts.push_back("each " + inner);
  }
  return join(parts, ", ");
}

void collect(const Json& node, const std::string& prefix, std::vector<SchemaKey>& out) {
  if (!node.contains("properties")) return;
  std::vector<std::string> required;
  if (node.contains("required"))
    for (const auto& r : node["required"]) required.push_back(r.get<std::string>());
  // nlohmann::json keeps keys sorted; the schema's own order reads better but is lost
  // by the parser, so the order is alphabetical within each section.
  for (const auto& [name, child] : node["properties"].items()) {
    SchemaKey key;
    key.path = prefix.empty() ? name : prefix + "." + name;
    bool section = child.contains("properties");
    key.type = section ? "section" : type_text(child);
    key.required = std::find(required.begin(), required.end(), name) != required.end();
    key.has_default = child.contains("default");
    if (key.has_default) key.default_value = child["default"];
    key.constraints = constraint_text(child);
    key.description = child.value("description", "");
    out.push_back(key);
    if (section) collect(child, key.path, out);
  }
}

// Markdown table cells: no pipes or newlines.
std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string code(const std::string& s) { return s.empty() ? "" : "`" + s + "`"; }

const Json* value_at(const Json& config, const std::string& path) {
  const Json* node = &config;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
  }
  return node;
}

}  // namespace

std::vector<SchemaKey> schema_keys(const Json& schema) {
  std::vector<SchemaKey> keys;
  collect(schema, "", keys);
  return keys;
}

std::string schema_markdown(const std::string& task, const Json& schema, const Json* values) {
  std::ostringstream md;
  md << "## " << task << "\n\n";
  if (schema.contains("title")) md << schema["title"].get<std::string>() << " (`configs/schema/" << task << ".schema.json`).\n\n";
  md << "| key | type | default | constraints | description |" << (values ? " value |" : "") << "\n";
  md << "|---|---|---|---|---|" << (values ? "---|" : "") << "\n";
  for (const auto& key : schema_keys(schema)) {
    std::string def = key.required ? "**required**" : key.has_default ? code(key.default_value.dump()) : "";
    md << "| " << code(key.path) << " | " << cell(key.type) << " | " << cell(def) << " | " << cell(key.constraints)
       << " | " << cell(key.description) << " |";
    if (values) {
      const Json* v = value_at(*values, key.path);
      md << " " << (v && key.type != "section" ? cell(code(v->dump())) : "") << " |";
    }
    md << "\n";
  }
  return md.str();
}

}  // namespace cvtool
