#include "cvtool/core/geometry.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

cv::Point2d ResizeMap::to_source(cv::Point2d p) const {
  return {(p.x - offset_x) / scale_x, (p.y - offset_y) / scale_y};
}

cv::Point2d ResizeMap::to_target(cv::Point2d p) const {
  return {p.x * scale_x + offset_x, p.y * scale_y + offset_y};
}

std::array<float, 4> ResizeMap::box_to_source(const std::array<float, 4>& box) const {
  cv::Point2d a = to_source({box[0], box[1]});
  cv::Point2d b = to_source({box[2], box[3]});
  auto clip = [](double v, int hi) { return float(std::clamp(v, 0.0, double(hi))); };
  return {clip(a.x, source_size.width), clip(a.y, source_size.height), clip(b.x, source_size.width),
          clip(b.y, source_size.height)};
}

ResizeMap make_resize_map(cv::Size source, cv::Size target, ResizeMode mode) {
  if (source.width <= 0 || source.height <= 0 || target.width <= 0 || target.height <= 0)
    throw Error(ErrorKind::Internal, "make_resize_map: empty size");
  ResizeMap m;
  m.source_size = source;
  m.target_size = target;
  if (mode == ResizeMode::Stretch) {
    m.scale_x = double(target.width) / source.width;
    m.scale_y = double(target.height) / source.height;
    return m;
  }
  double r = std::min(double(target.width) / source.width, double(target.height) / source.height);
  // The resized content is rounded to whole pixels; the scale is what was really applied
  // per axis so that mapping back is exact.
  int w = std::max(1, int(std::lround(source.width * r)));
  int h = std::max(1, int(std::lround(source.height * r)));
  m.scale_x = double(w) / source.width;
  m.scale_y = double(h) / source.height;
  m.offset_x = (target.width - w) / 2;
  m.offset_y = (target.height - h) / 2;
  return m;
}

cv::Mat apply_resize(const cv::Mat& image, const ResizeMap& map, const cv::Scalar& pad_value) {
  int w = int(std::lround(map.source_size.width * map.scale_x));
  int h = int(std::lround(map.source_size.height * map.scale_y));
  cv::Mat resized;
  if (w == image.cols && h == image.rows) {
    resized = image;
  } else {
    int interp = (w < image.cols || h < image.rows) ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(image, resized, cv::Size(w, h), 0, 0, interp);
  }
  if (w == map.target_size.width && h == map.target_size.height) return resized;
  cv::Mat out(map.target_size, image.type(), pad_value);
  resized.copyTo(out(cv::Rect(int(map.offset_x), int(map.offset_y), w, h)));
  return out;
}

ResizeMode parse_resize_mode(const std::string& name) {
  if (name == "letterbox") return ResizeMode::Letterbox;
  if (name == "stretch") return ResizeMode::Stretch;
  throw Error(ErrorKind::Config, "resize mode '" + name + "': expected letterbox or stretch");
}

}  // namespace cvtool
