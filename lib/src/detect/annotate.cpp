#include "cvtool/detect/annotate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgproc.hpp>

namespace cvtool {

cv::Scalar class_colour(int class_id) {
  // Golden-ratio hue steps give neighbouring ids clearly different colours.
  double hue = std::fmod(class_id * 0.618033988749895, 1.0) * 180.0;
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue, 200, 230)), bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  auto p = bgr.at<cv::Vec3b>(0, 0);
  return cv::Scalar(p[0], p[1], p[2]);
}

cv::Mat draw_detections(const cv::Mat& image, const std::vector<Detection>& dets) {
  cv::Mat out = image.clone();
  int side = std::max(image.cols, image.rows);
  int thickness = std::max(1, int(std::lround(side / 400.0)));
  double font_scale = std::max(0.4, side / 1400.0);
  for (const auto& d : dets) {
    cv::Scalar colour = class_colour(d.class_id);
    cv::Point p1(int(std::lround(d.box[0])), int(std::lround(d.box[1])));
    cv::Point p2(int(std::lround(d.box[2])), int(std::lround(d.box[3])));
    cv::rectangle(out, p1, p2, colour, thickness, cv::LINE_AA);
    char text[128];
    std::snprintf(text, sizeof text, "%s %.2f", d.label.c_str(), d.score);
    int baseline = 0;
    cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline);
    // Label above the box, or inside it when the box touches the top edge.
    int top = p1.y - ts.height - baseline - 2 >= 0 ? p1.y - ts.height - baseline - 2 : p1.y;
    cv::rectangle(out, cv::Rect(p1.x, top, ts.width + 4, ts.height + baseline + 2), colour, cv::FILLED);
    cv::putText(out, text, cv::Point(p1.x + 2, top + ts.height + 1), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                cv::Scalar(0, 0, 0), thickness, cv::LINE_AA);
  }
  return out;
}

std::string yolo_txt(const std::vector<Detection>& dets, cv::Size size, bool with_score) {
  std::string out;
  char line[160];
  for (const auto& d : dets) {
    double cx = (d.box[0] + d.box[2]) / 2.0 / size.width, cy = (d.box[1] + d.box[3]) / 2.0 / size.height;
    double w = (d.box[2] - d.box[0]) / double(size.width), h = (d.box[3] - d.box[1]) / double(size.height);
    int n = std::snprintf(line, sizeof line, "%d %.6f %.6f %.6f %.6f", d.class_id, cx, cy, w, h);
    out.append(line, n);
    if (with_score) {
      n = std::snprintf(line, sizeof line, " %.5f", d.score);
      out.append(line, n);
    }
    out += '\n';
  }
  return out;
}

void append_coco_results(nlohmann::json& results, const nlohmann::json& image_id, const std::vector<Detection>& dets) {
  auto r3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  for (const auto& d : dets) {
    results.push_back({{"image_id", image_id},
                       {"category_id", d.class_id},
                       {"bbox", {r3(d.box[0]), r3(d.box[1]), r3(d.box[2] - d.box[0]), r3(d.box[3] - d.box[1])}},
                       {"score", std::round(double(d.score) * 1e5) / 1e5}});
  }
}

nlohmann::json coco_image_id(const std::string& source, const nlohmann::json& mapping) {
  std::filesystem::path p(source);
  std::string name = p.filename().string();
  if (mapping.is_object() && mapping.contains(name)) return mapping[name];
  std::string stem = p.stem().string();
  bool numeric = !stem.empty() && stem.size() < 18 && std::all_of(stem.begin(), stem.end(), ::isdigit);
  if (numeric) return std::stoll(stem);
  return stem;
}

}  // namespace cvtool
