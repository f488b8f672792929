#include "cvtool/tools/robustness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/line_plot.hpp"
#include "cvtool/tools/explain_model.hpp"
#include "cvtool/train/augment.hpp"

namespace cvtool {

const std::vector<std::string>& corruption_names() {
  static const std::vector<std::string> names{"occlusion", "brightness", "gamma", "contrast", "blur", "noise",
                                              "jpeg",      "rotate",     "scale", "fgsm",     "pgd"};
  return names;
}

std::string corruption_unit(const std::string& name) {
  static const std::map<std::string, std::string> units{
      {"occlusion", "patch side / shorter side"}, {"brightness", "added fraction of 255"}, {"gamma", "exponent"},
      {"contrast", "factor"}, {"blur", "sigma px"}, {"noise", "sd (0-255)"}, {"jpeg", "quality"},
      {"rotate", "degrees"}, {"scale", "zoom"}, {"fgsm", "eps (0-1)"}, {"pgd", "eps (0-1)"}, {"clean", ""}};
  auto it = units.find(name);
  return it == units.end() ? "" : it->second;
}

std::vector<double> default_severities(const std::string& name) {
  if (name == "occlusion") return {0.1, 0.2, 0.3, 0.4, 0.5};
  if (name == "brightness") return {0.1, 0.2, 0.3, 0.4, 0.5};
  if (name == "gamma") return {1.5, 2, 2.5, 3, 4};
  if (name == "contrast") return {0.7, 0.5, 0.35, 0.2, 0.1};
  if (name == "blur") return {0.5, 1, 1.5, 2, 3};
  if (name == "noise") return {8, 16, 32, 48, 64};
  if (name == "jpeg") return {80, 50, 30, 15, 5};
  if (name == "rotate") return {5, 10, 20, 30, 45};
  if (name == "scale") return {0.9, 0.8, 0.7, 0.6, 0.5};
  if (name == "fgsm" || name == "pgd") return {1.0 / 255, 2.0 / 255, 4.0 / 255, 8.0 / 255, 16.0 / 255};
  throw Error(ErrorKind::Config, "robustness: unknown corruption '" + name + "'");
}

bool is_attack(const std::string& name) { return name == "fgsm" || name == "pgd"; }

cv::Mat corrupt(const cv::Mat& image, const std::string& name, double s, std::uint64_t seed) {
  // The photometric and geometric ones are the training Augmenter with one op at p = 1
  // and a zero-width range, so `cvtool augment` and this report mean the same thing.
  AugmentParams a;
  a.border = "constant";
  AugmentOp fixed{1.0, s, s};
  if (name == "occlusion") {
    // Not the Augmenter's cutout: that one may hang over the border, which would make
    // the occluded area (the severity) vary with the seed. Here the patch is inside.
    cv::Mat out = image.clone();
    const int side = std::clamp(int(std::lround(std::min(image.cols, image.rows) * s)), 0, std::min(image.cols, image.rows));
    std::uint64_t r = mix_seed(seed, 0x0cc1);
    const int x = int(r % std::uint64_t(image.cols - side + 1)), y = int((r >> 32) % std::uint64_t(image.rows - side + 1));
    out(cv::Rect(x, y, side, side)).setTo(cv::Scalar::all(0));
    return out;
  } else if (name == "brightness") {
    a.brightness = fixed;
  } else if (name == "contrast") {
    a.contrast = fixed;
  } else if (name == "blur") {
    a.blur = fixed;
  } else if (name == "noise") {
    a.gaussian_noise = fixed;
  } else if (name == "rotate") {
    a.rotate = fixed;
  } else if (name == "scale") {
    a.scale = fixed;
  } else if (name == "gamma") {
    cv::Mat lut(1, 256, CV_8U);
    for (int i = 0; i < 256; ++i) lut.at<std::uint8_t>(i) = cv::saturate_cast<std::uint8_t>(255.0 * std::pow(i / 255.0, s));
    cv::Mat out;
    cv::LUT(image, lut, out);
    return out;
  } else if (name == "jpeg") {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, int(std::lround(s))});
    return cv::imdecode(bytes, image.channels() == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } else {
    throw Error(ErrorKind::Config, "robustness: '" + name + "' is not an image corruption");
  }
  return Augmenter(a).apply(image, seed);
}

RobustnessParams robustness_params_from_json(const nlohmann::json& s, const std::vector<std::string>& only) {
  RobustnessParams p;
  p.pgd_steps = s["pgd_steps"].get<int>();
  p.pgd_step = s["pgd_step"].get<double>();
  p.batch = s["batch"].get<int>();
  p.seed = s["seed"].get<std::uint64_t>();
  p.limit = s["limit"].get<std::size_t>();
  const auto& c = s["corruptions"];
  for (const auto& name : corruption_names()) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    auto sev = !c.contains(name) || c[name].is_null() ? default_severities(name) : c[name].get<std::vector<double>>();
    if (!sev.empty()) p.corruptions.push_back({name, sev});
  }
  for (const auto& name : only)
    if (std::find(corruption_names().begin(), corruption_names().end(), name) == corruption_names().end())
      throw Error(ErrorKind::Usage, "--corruptions: unknown corruption '" + name + "'");
  return p;
}

nlohmann::json RobustnessReport::to_json() const {
  nlohmann::json rs = nlohmann::json::array();
  for (const auto& r : rows)
    rs.push_back({{"corruption", r.corruption}, {"level", r.level}, {"severity", r.severity},
                  {"accuracy", r.accuracy()}, {"correct", r.correct}, {"n", r.n}});
  return {{"model", model}, {"images", images}, {"unreadable", unreadable}, {"clean_accuracy", clean_accuracy}, {"rows", rs}};
}

namespace {

std::size_t count_correct(GradClassifier& model, const torch::Tensor& px, const torch::Tensor& labels) {
  torch::NoGradGuard ng;
  return std::size_t((model.logits(px).argmax(1).to(torch::kCPU) == labels).sum().item<int64_t>());
}

}  // namespace

RobustnessReport evaluate_robustness(const nlohmann::json& config, const std::vector<LabelledPath>& data,
                                     const RobustnessParams& params,
                                     const std::function<void(std::size_t, std::size_t)>& progress) {
  GradClassifier model(config);
  const auto& m = config["model"];
  const cv::Size size = model.input_size();
  const std::string resize = m["resize"].get<std::string>();
  const double pad = m["pad_value"].get<double>();
  const int classes = model.num_classes();

  RobustnessReport report;
  report.model = model.path();
  std::vector<std::size_t> pick(data.size());
  for (std::size_t i = 0; i < pick.size(); ++i) pick[i] = i;
  if (params.limit > 0 && data.size() > params.limit) {
    pick.resize(params.limit);
    for (std::size_t i = 0; i < params.limit; ++i) pick[i] = i * data.size() / params.limit;
  }
  std::vector<cv::Mat> images;
  std::vector<int64_t> labels;
  for (std::size_t i : pick) {
    cv::Mat img = cv::imread(data[i].path, cv::IMREAD_COLOR);
    if (img.empty()) {
      ++report.unreadable;
      continue;
    }
    if (data[i].label < 0 || data[i].label >= classes)
      throw Error(ErrorKind::Input, data[i].path + ": label " + std::to_string(data[i].label) + " but the model has " +
                                        std::to_string(classes) + " classes");
    images.push_back(classifier_input(img, size, resize, pad));
    labels.push_back(data[i].label);
  }
  report.images = images.size();
  if (images.empty()) throw Error(ErrorKind::Input, "robustness: no readable labelled images");

  const std::size_t batch = std::size_t(std::max(1, params.batch));
  std::size_t total = 1;
  for (const auto& c : params.corruptions) total += c.severities.size();
  std::size_t done = 0;

  auto run = [&](const std::string& name, int level, double sev) {
    RobustnessRow row{name, level, sev, 0, images.size()};
    for (std::size_t b = 0; b < images.size(); b += batch) {
      std::size_t e = std::min(images.size(), b + batch);
      std::vector<cv::Mat> chunk;
      for (std::size_t i = b; i < e; ++i)
        chunk.push_back(name == "clean" || is_attack(name)
                            ? images[i]
                            : corrupt(images[i], name, sev, mix_seed(params.seed, mix_seed(hash_string(name), i))));
      torch::Tensor px = model.pixels(chunk);
      torch::Tensor y = torch::tensor(std::vector<int64_t>(labels.begin() + long(b), labels.begin() + long(e)));
      if (name == "fgsm") px = fgsm(model, px, y, sev);
      else if (name == "pgd") px = pgd(model, px, y, sev, params.pgd_steps, params.pgd_step);
      row.correct += count_correct(model, px, y);
    }
    report.rows.push_back(row);
    if (progress) progress(++done, total);
  };
  run("clean", 0, 0);
  report.clean_accuracy = report.rows[0].accuracy();
  for (const auto& c : params.corruptions)
    for (std::size_t i = 0; i < c.severities.size(); ++i) run(c.name, int(i + 1), c.severities[i]);
  return report;
}

std::string robustness_table(const RobustnessReport& r) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-11s %5s %10s %9s %11s  %s\n", "corruption", "level", "severity", "accuracy",
                "correct/n", "unit");
  out << line;
  for (const auto& row : r.rows) {
    std::snprintf(line, sizeof line, "%-11s %5d %10.4g %9.4f %5zu/%-5zu  %s\n", row.corruption.c_str(), row.level,
                  row.severity, row.accuracy(), row.correct, row.n, corruption_unit(row.corruption).c_str());
    out << line;
  }
  return out.str();
}

std::string robustness_csv(const RobustnessReport& r) {
  std::ostringstream out;
  out << "corruption,level,severity,accuracy,correct,n\n";
  for (const auto& row : r.rows) {
    char line[160];
    std::snprintf(line, sizeof line, "%s,%d,%.6g,%.6f,%zu,%zu\n", row.corruption.c_str(), row.level, row.severity,
                  row.accuracy(), row.correct, row.n);
    out << line;
  }
  return out.str();
}

cv::Mat plot_robustness(const RobustnessReport& r, const std::string& title, cv::Size size) {
  PlotAxes axes;
  axes.title = title;
  axes.x_label = "severity level";
  axes.y_label = "accuracy";
  int max_level = 1;
  for (const auto& row : r.rows) max_level = std::max(max_level, row.level);
  axes.x_max = max_level;
  for (int l = 0; l <= max_level; ++l) axes.x_ticks.emplace_back(l, l == 0 ? "clean" : std::to_string(l));
  for (int i = 0; i <= 10; i += 2) {
    char t[8];
    std::snprintf(t, sizeof t, "%.1f", i / 10.0);
    axes.y_ticks.emplace_back(i / 10.0, t);
  }
  // One curve per corruption, each starting from the clean accuracy at level 0.
  std::vector<PlotSeries> series;
  for (const auto& row : r.rows) {
    if (row.corruption == "clean") continue;
    auto it = std::find_if(series.begin(), series.end(), [&](const PlotSeries& s) { return s.name == row.corruption; });
    if (it == series.end()) {
      series.push_back({row.corruption, {{0.0, r.clean_accuracy}}});
      it = series.end() - 1;
    }
    it->points.emplace_back(row.level, row.accuracy());
  }
  return draw_line_plot(series, axes, size);
}

}  // namespace cvtool
