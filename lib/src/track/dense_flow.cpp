#include <cmath>
#include <cstring>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/track/flow_dense.hpp"

namespace cvtool {

namespace {

constexpr float kFloMagic = 202021.25f;  // the bytes "PIEH" when written little-endian

template <class T>
void append(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86/ARM: already little-endian
  out.append(bytes, sizeof(T));
}

}  // namespace

cv::Mat dense_flow(const cv::Mat& prev_gray, const cv::Mat& gray, const FarnebackParams& p) {
  cv::Mat flow;
  cv::calcOpticalFlowFarneback(prev_gray, gray, flow, p.pyr_scale, p.levels, p.win_size, p.iterations, p.poly_n,
                               p.poly_sigma, p.gaussian ? cv::OPTFLOW_FARNEBACK_GAUSSIAN : 0);
  return flow;
}

cv::Mat flow_to_colour(const cv::Mat& flow, double max_magnitude) {
  cv::Mat parts[2], magnitude, angle;
  cv::split(flow, parts);
  cv::cartToPolar(parts[0], parts[1], magnitude, angle, true);  // degrees, image y down
  if (max_magnitude <= 0) cv::minMaxLoc(magnitude, nullptr, &max_magnitude);
  cv::Mat hsv_parts[3];
  angle.convertTo(hsv_parts[0], CV_8U, 0.5);  // OpenCV 8-bit hue runs 0-180
  hsv_parts[1] = cv::Mat(flow.size(), CV_8U, cv::Scalar(255));
  magnitude.convertTo(hsv_parts[2], CV_8U, max_magnitude > 0 ? 255.0 / max_magnitude : 0);  // saturates at 255
  cv::Mat hsv, bgr;
  cv::merge(hsv_parts, 3, hsv);
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  return bgr;
}

std::string flo_bytes(const cv::Mat& flow) {
  CV_Assert(flow.type() == CV_32FC2);
  std::string out;
  out.reserve(12 + flow.total() * 8);
  append(out, kFloMagic);
  append(out, std::int32_t(flow.cols));
  append(out, std::int32_t(flow.rows));
  for (int y = 0; y < flow.rows; ++y)
    out.append(reinterpret_cast<const char*>(flow.ptr<float>(y)), std::size_t(flow.cols) * 8);
  return out;
}

void write_flo(const std::filesystem::path& path, const cv::Mat& flow) { write_file_atomic(path, flo_bytes(flow)); }

cv::Mat read_flo(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Input, path.string() + ": cannot open");
  float magic = 0;
  std::int32_t w = 0, h = 0;
  in.read(reinterpret_cast<char*>(&magic), 4);
  in.read(reinterpret_cast<char*>(&w), 4);
  in.read(reinterpret_cast<char*>(&h), 4);
  if (!in || magic != kFloMagic) throw Error(ErrorKind::Input, path.string() + ": not a .flo file (no PIEH magic)");
  if (w <= 0 || h <= 0 || std::int64_t(w) * h > (std::int64_t(1) << 28))
    throw Error(ErrorKind::Input, path.string() + ": absurd .flo size " + std::to_string(w) + "x" + std::to_string(h));
  cv::Mat flow(h, w, CV_32FC2);
  for (int y = 0; y < h; ++y) in.read(reinterpret_cast<char*>(flow.ptr<float>(y)), std::streamsize(w) * 8);
  if (!in) throw Error(ErrorKind::Input, path.string() + ": truncated .flo file");
  return flow;
}

cv::Vec2d mean_flow(const cv::Mat& flow, int margin) {
  cv::Rect inner(margin, margin, flow.cols - 2 * margin, flow.rows - 2 * margin);
  if (inner.width <= 0 || inner.height <= 0) inner = cv::Rect(0, 0, flow.cols, flow.rows);
  cv::Scalar m = cv::mean(flow(inner));
  return {m[0], m[1]};
}

}  // namespace cvtool
