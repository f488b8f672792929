#pragma once
// `cvtool robustness` as a library call: a classifier's accuracy on a labelled set under
// corruptions at several severities (occlusion, brightness, gamma, contrast, blur, noise,
// JPEG, rotation, scale) and under FGSM / PGD attacks with an L-inf budget; the table,
// CSV and a plot of the curves. Corruptions are applied to the image as resized for the
// model, so severities in pixels mean model-input pixels. No LibTorch in this header.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct Corruption {
  std::string name;
  std::vector<double> severities;  // in the corruption's own unit, mildest first
};

// Every corruption name, in report order, and its unit for the table.
const std::vector<std::string>& corruption_names();
std::string corruption_unit(const std::string& name);
std::vector<double> default_severities(const std::string& name);
bool is_attack(const std::string& name);  // fgsm, pgd

// One image corruption at one severity (not for attacks). The image is 8-bit BGR;
// `seed` places the occlusion patch and draws the noise. Throws Error(Config) for an
// unknown name. Units: occlusion = patch side / shorter side; brightness = added
// fraction of 255; gamma = exponent on 0..1 values; contrast = factor around the mean;
// blur = Gaussian sigma (px); noise = Gaussian sd (0..255); jpeg = quality; rotate =
// degrees; scale = zoom factor (< 1: smaller, black border).
cv::Mat corrupt(const cv::Mat& image_bgr, const std::string& name, double severity, std::uint64_t seed);

struct RobustnessParams {
  std::vector<Corruption> corruptions;
  int pgd_steps = 10;
  double pgd_step = 0;  // 0: 2.5 * eps / steps
  int batch = 64;
  std::uint64_t seed = 0;
  std::size_t limit = 0;  // evaluate at most this many images (evenly spaced); 0: all
};

// Reads a validated "robustness" section; `only` (if not empty) keeps those names.
RobustnessParams robustness_params_from_json(const nlohmann::json& section, const std::vector<std::string>& only = {});

struct RobustnessRow {
  std::string corruption;
  int level = 0;           // 0 = clean, 1.. = severities in order
  double severity = 0;
  std::size_t correct = 0, n = 0;
  double accuracy() const { return n ? double(correct) / double(n) : 0; }
};

struct RobustnessReport {
  std::string model;
  std::size_t images = 0, unreadable = 0;
  double clean_accuracy = 0;
  std::vector<RobustnessRow> rows;  // clean first, then each corruption's severities
  nlohmann::json to_json() const;
};

struct LabelledPath {
  std::string path;
  int label = 0;
};

// `config`: a validated robustness config ("model", "runtime"). `progress` is called
// after each (corruption, severity) with the rows done and the total.
RobustnessReport evaluate_robustness(const nlohmann::json& config, const std::vector<LabelledPath>& data,
                                     const RobustnessParams& params,
                                     const std::function<void(std::size_t, std::size_t)>& progress = {});

std::string robustness_table(const RobustnessReport& report);
std::string robustness_csv(const RobustnessReport& report);
// Accuracy against severity level (0 = clean), one line per corruption, with axes,
// labels, legend and title.
cv::Mat plot_robustness(const RobustnessReport& report, const std::string& title, cv::Size size = {960, 560});

}  // namespace cvtool
