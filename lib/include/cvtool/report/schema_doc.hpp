#pragma once
// Documentation generated from the task JSON schemas: every key with its type,
// default, constraints and description. `cvtool config doc` writes
// docs/config-reference.md with it, `cvtool config init` the sidecar of a starter config.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct SchemaKey {
  std::string path;         // "post.score_threshold"
  std::string type;         // "number", "string or null", "one of \"rgb\", \"bgr\"", "section"
  bool required = false;
  bool has_default = false;
  nlohmann::json default_value;
  std::string constraints;  // "0 ≤ x ≤ 1", "2 items", ...
  std::string description;
};

// Every key of `schema`, depth first in the schema's order; sections come before their keys.
std::vector<SchemaKey> schema_keys(const nlohmann::json& schema);

// A markdown section "## <task>" with one table row per key. With `values` (a config of
// that task), a column shows each key's value in it.
std::string schema_markdown(const std::string& task, const nlohmann::json& schema,
                            const nlohmann::json* values = nullptr);

}  // namespace cvtool
