#pragma once
// What the segmentation tests share: the models and expectations written by the
// segment_models fixture (make_segment_test_models.py) and a loader for its configs.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cvtool/core/config.hpp"

namespace cvtool::test {

inline std::filesystem::path segment_model_dir() {
  return std::filesystem::path(CVTOOL_BINARY_DIR) / "test-models-segment";
}

inline Json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return Json::parse(in);
}

// The fixture's config segment-<name>.json, with overrides, validated like the CLI does.
inline Json load_segment_config(const std::string& name, std::vector<std::string> overrides = {}) {
  ConfigSources sources;
  sources.file = segment_model_dir() / ("segment-" + name + ".json");
  sources.overrides = std::move(overrides);
  return load_config(sources, task_schema("segment"));
}

}  // namespace cvtool::test
