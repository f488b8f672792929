#pragma once
// Pipeline configuration: one JSON document per pipeline, validated against the
// task's JSON schema, with defaults filled in from that schema.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

using Json = nlohmann::json;

struct ConfigSources {
  std::filesystem::path file;              // may be empty: schema defaults only
  std::vector<std::string> overrides;      // "key.path=value", applied in order
};

// Loads `file`, applies the overrides, fills defaults from `schema`, resolves every
// value marked `"format": "path"` relative to the config file (override values
// relative to the working directory) and validates. Throws Error(Config) naming the
// key path and the problem.
Json load_config(const ConfigSources& sources, const Json& schema);

// Sets `key.path` in `config` to `value`; the value is parsed as JSON when it is
// valid JSON (numbers, booleans, arrays...) and taken as a string otherwise.
void apply_override(Json& config, const std::string& assignment);

// Validates `value` against the supported subset of JSON Schema (type, properties,
// additionalProperties, required, enum, minimum/maximum, exclusiveMinimum,
// items, minItems/maxItems). Throws Error(Config) "a.b: expected number, got string".
void validate_json(const Json& value, const Json& schema, const std::string& where = "");

// Returns a copy of `value` with every missing key that has a schema default added.
Json with_defaults(const Json& value, const Json& schema);

// The schema of a built-in task ("detect", "ocr", ...), compiled into the library.
const Json& task_schema(const std::string& task);

// Where the bundled configs live: $CVTOOL_CONFIG_DIR, else <exe>/../configs, else
// <exe>/../share/cvtool/configs. Throws Error(Config) when none exists.
std::filesystem::path config_dir();

}  // namespace cvtool
