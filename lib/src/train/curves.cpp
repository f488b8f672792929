#include "cvtool/train/curves.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/line_plot.hpp"

namespace cvtool {

cv::Mat render_training_curves(const std::filesystem::path& metrics_jsonl) {
  std::ifstream in(metrics_jsonl);
  if (!in) throw Error(ErrorKind::Input, metrics_jsonl.string() + ": cannot open");
  // Keyed by epoch: a run resumed from a checkpoint repeats the epochs after it.
  std::map<int, nlohmann::json> epochs;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.contains("epoch"))
      throw Error(ErrorKind::Input, metrics_jsonl.string() + ":" + std::to_string(n) + ": not an epoch record");
    epochs[record["epoch"].get<int>()] = record;
  }
  if (epochs.empty()) throw Error(ErrorKind::Input, metrics_jsonl.string() + ": no epochs");

  auto series = [&](const char* key, const char* name) {
    PlotSeries s{name, {}};
    for (const auto& [epoch, r] : epochs) s.points.emplace_back(epoch, r.value(key, 0.0));
    return s;
  };
  PlotAxes axes;
  axes.x_label = "epoch";
  axes.x_min = std::min(0, epochs.begin()->first);
  axes.x_max = std::max(1, epochs.rbegin()->first);
  const int step = std::max(1, int(std::ceil((axes.x_max - axes.x_min) / 10.0)));  // at most ~10 whole epochs
  for (int e = int(axes.x_min); e <= int(axes.x_max); e += step) axes.x_ticks.emplace_back(e, std::to_string(e));
  auto ticks = [](double top, const char* format) {
    std::vector<std::pair<double, std::string>> t;
    for (int i = 0; i <= 5; ++i) {
      char label[32];
      std::snprintf(label, sizeof label, format, top * i / 5);
      t.emplace_back(top * i / 5, label);
    }
    return t;
  };
  std::vector<PlotSeries> loss = {series("train_loss", "train loss"), series("val_loss", "val loss")};
  double top = 0;
  for (const auto& s : loss)
    for (const auto& p : s.points) top = std::max(top, p.y);
  PlotAxes loss_axes = axes;
  loss_axes.title = "loss";
  loss_axes.y_label = "loss";
  loss_axes.y_max = top > 0 ? top * 1.05 : 1.0;
  loss_axes.y_ticks = ticks(loss_axes.y_max, "%.2f");
  PlotAxes acc_axes = axes;
  acc_axes.title = "accuracy";
  acc_axes.y_label = "accuracy";
  acc_axes.y_ticks = ticks(1.0, "%.1f");
  cv::Mat left = draw_line_plot(loss, loss_axes, {720, 480});
  cv::Mat right =
      draw_line_plot({series("train_accuracy", "train accuracy"), series("val_accuracy", "val accuracy")}, acc_axes,
                     {720, 480});
  cv::Mat both;
  cv::hconcat(left, right, both);
  return both;
}

}  // namespace cvtool
