#pragma once
// Line charts drawn with OpenCV (no plotting library in the stack): axes, grid, tick
// labels, one coloured polyline with dots per series and a legend. Used for robustness
// curves and training curves.
#include <opencv2/core.hpp>
#include <string>
#include <utility>
#include <vector>

namespace cvtool {

struct PlotSeries {
  std::string name;
  std::vector<cv::Point2d> points;  // data coordinates, drawn in this order
};

struct PlotAxes {
  std::string title, x_label, y_label;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // y values outside are clamped
  std::vector<std::pair<double, std::string>> x_ticks, y_ticks;  // empty: 6 evenly spaced
};

cv::Mat draw_line_plot(const std::vector<PlotSeries>& series, const PlotAxes& axes, cv::Size size = {960, 560});

}  // namespace cvtool
