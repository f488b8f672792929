#pragma once
// Writing results. Files are written atomically (temp file in the same folder, then
// rename) so a killed run never leaves a half-written artifact.
#include <filesystem>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

void write_file_atomic(const std::filesystem::path& path, const std::string& bytes);
void write_image_atomic(const std::filesystem::path& path, const cv::Mat& image);

// One JSON object per line, flushed per record so a pipe sees results as they come.
class JsonlWriter {
 public:
  explicit JsonlWriter(std::ostream& out) : out_(out) {}
  void write(const nlohmann::json& record);

 private:
  std::ostream& out_;
  std::mutex mutex_;
};

// Gives each input a unique, safe file stem inside an output folder: the input's
// stem with unsafe characters replaced, suffixed _2, _3... when two inputs share a
// stem, so nothing collides and nothing escapes the folder.
class OutputNamer {
 public:
  explicit OutputNamer(std::filesystem::path dir);
  // The same source (and frame) always gets the same stem within a run.
  std::string stem_for(const std::string& source, long long frame_index = -1);
  // dir / (stem + suffix); refuses a path that is one of the run's inputs.
  std::filesystem::path path_for(const std::string& source, const std::string& suffix,
                                 long long frame_index = -1);
  // Refuses outputs that would overwrite this input, and claims its stem (in call order).
  void protect_input(const std::string& input_path);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::map<std::string, std::string> assigned_;
  std::set<std::string> used_;
  std::set<std::string> inputs_;
  std::mutex mutex_;
};

std::string sanitize_stem(const std::string& stem);

}  // namespace cvtool
