// Config parsing, schema validation, defaults and --set overrides. Input: override
// lines ("key.path=value"), then a line "---", then the config JSON. Anything but a
// cvtool::Error (crash, other exception, sanitizer report) is a finding.
#include <cstdint>
#include <sstream>

#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  cvtool::ConfigSources sources;
  auto split = text.find("\n---\n");
  std::string body = text;
  if (split != std::string::npos) {
    std::istringstream lines(text.substr(0, split));
    std::string line;
    while (std::getline(lines, line)) sources.overrides.push_back(line);
    body = text.substr(split + 5);
  }
  sources.file = cvtool::fuzz::write_scratch(reinterpret_cast<const uint8_t*>(body.data()), body.size(), ".json");
  for (const char* task : {"detect", "segment", "ocr", "track"}) {
    try {
      cvtool::Json config = cvtool::load_config(sources, cvtool::task_schema(task));
      (void)config.dump();
    } catch (const cvtool::Error&) {
    }
  }
  for (const auto& o : sources.overrides) {
    try {
      cvtool::Json config = cvtool::Json::object();
      cvtool::apply_override(config, o);
    } catch (const cvtool::Error&) {
    }
  }
  return 0;
}
