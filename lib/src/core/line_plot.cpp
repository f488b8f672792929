#include "cvtool/core/line_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

namespace cvtool {

namespace {

std::vector<std::pair<double, std::string>> even_ticks(double lo, double hi) {
  std::vector<std::pair<double, std::string>> ticks;
  for (int i = 0; i <= 5; ++i) {
    double v = lo + (hi - lo) * i / 5.0;
    char t[32];
    std::snprintf(t, sizeof t, "%.3g", v);
    ticks.emplace_back(v, t);
  }
  return ticks;
}

}  // namespace

cv::Mat draw_line_plot(const std::vector<PlotSeries>& series, const PlotAxes& axes, cv::Size size) {
  cv::Mat img(size, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 70, right = 220, top = 50, bottom = 60;
  const cv::Rect area(left, top, size.width - left - right, size.height - top - bottom);
  const double x_span = axes.x_max > axes.x_min ? axes.x_max - axes.x_min : 1.0;
  const double y_span = axes.y_max > axes.y_min ? axes.y_max - axes.y_min : 1.0;
  auto px = [&](double x, double y) {
    double fy = (std::clamp(y, axes.y_min, axes.y_min + y_span) - axes.y_min) / y_span;
    return cv::Point(area.x + int(std::lround(area.width * (x - axes.x_min) / x_span)),
                     area.y + area.height - int(std::lround(area.height * fy)));
  };
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225);
  for (const auto& [v, label] : axes.y_ticks.empty() ? even_ticks(axes.y_min, axes.y_max) : axes.y_ticks) {
    cv::Point a = px(axes.x_min, v), b = px(axes.x_max, v);
    cv::line(img, a, b, grid, 1);
    int baseline = 0;
    cv::Size text = cv::getTextSize(label, font, 0.45, 1, &baseline);
    cv::putText(img, label, a + cv::Point(-8 - text.width, 5), font, 0.45, black, 1, cv::LINE_AA);
  }
  for (const auto& [v, label] : axes.x_ticks.empty() ? even_ticks(axes.x_min, axes.x_max) : axes.x_ticks) {
    cv::Point a = px(v, axes.y_min);
    cv::line(img, a, a + cv::Point(0, 5), black, 1);
    int baseline = 0;
    cv::Size text = cv::getTextSize(label, font, 0.45, 1, &baseline);
    cv::putText(img, label, a + cv::Point(-text.width / 2, 22), font, 0.45, black, 1, cv::LINE_AA);
  }
  cv::line(img, px(axes.x_min, axes.y_min), px(axes.x_max, axes.y_min), black, 1);
  cv::line(img, px(axes.x_min, axes.y_min), px(axes.x_min, axes.y_max), black, 1);
  cv::putText(img, axes.x_label, cv::Point(area.x + area.width / 2 - 5 * int(axes.x_label.size()), size.height - 15),
              font, 0.55, black, 1, cv::LINE_AA);
  cv::Mat ylabel(24, std::max(90, 11 * int(axes.y_label.size())), CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(ylabel, axes.y_label, cv::Point(2, 17), font, 0.55, black, 1, cv::LINE_AA);
  cv::rotate(ylabel, ylabel, cv::ROTATE_90_COUNTERCLOCKWISE);
  int y0 = std::clamp(area.y + area.height / 2 - ylabel.rows / 2, 0, size.height - ylabel.rows);
  ylabel.copyTo(img(cv::Rect(4, y0, ylabel.cols, ylabel.rows)));
  cv::putText(img, axes.title, cv::Point(left, 30), font, 0.6, black, 1, cv::LINE_AA);

  // Tableau-like colours (BGR), then black.
  static const cv::Scalar colours[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},
                                       {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                       {34, 189, 188},  {207, 190, 23}, {0, 0, 0}};
  for (std::size_t k = 0; k < series.size(); ++k) {
    const cv::Scalar colour = colours[k % 11];
    std::vector<cv::Point> pts;
    for (const auto& p : series[k].points) pts.push_back(px(p.x, p.y));
    if (pts.size() > 1) cv::polylines(img, pts, false, colour, 2, cv::LINE_AA);
    for (const auto& p : pts) cv::circle(img, p, 3, colour, cv::FILLED, cv::LINE_AA);
    cv::Point l(size.width - right + 20, top + 10 + int(k) * 22);
    cv::line(img, l, l + cv::Point(26, 0), colour, 2, cv::LINE_AA);
    cv::putText(img, series[k].name, l + cv::Point(34, 5), font, 0.5, black, 1, cv::LINE_AA);
  }
  return img;
}

}  // namespace cvtool
