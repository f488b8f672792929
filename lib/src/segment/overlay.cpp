#include "cvtool/segment/overlay.hpp"

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

cv::Mat draw_overlay(const cv::Mat& image, const cv::Mat& labels, const std::vector<PaletteColour>& palette,
                     double opacity) {
  if (image.type() != CV_8UC3 || labels.type() != CV_8UC1 || image.size() != labels.size())
    throw Error(ErrorKind::Internal, "draw_overlay: expected a BGR image and a label map of its size");
  cv::Mat out = image.clone();
  const float a = float(opacity), keep = 1.0f - a;
  for (int y = 0; y < out.rows; ++y) {
    const unsigned char* l = labels.ptr<unsigned char>(y);
    cv::Vec3b* p = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < out.cols; ++x) {
      if (!l[x]) continue;
      const PaletteColour& c = palette[std::size_t(l[x]) % palette.size()];
      p[x][0] = cv::saturate_cast<unsigned char>(keep * p[x][0] + a * c.b);
      p[x][1] = cv::saturate_cast<unsigned char>(keep * p[x][1] + a * c.g);
      p[x][2] = cv::saturate_cast<unsigned char>(keep * p[x][2] + a * c.r);
    }
  }
  return out;
}

cv::Mat alpha_cutout(const cv::Mat& image, const Segmentation& seg, double feather) {
  if (image.type() != CV_8UC3 || seg.labels.size() != image.size())
    throw Error(ErrorKind::Internal, "alpha_cutout: expected a BGR image and a segmentation of its size");
  cv::Mat alpha;
  if (!seg.probability.empty()) {
    seg.probability.convertTo(alpha, CV_8U, 255.0);
  } else {
    alpha = (seg.labels > 0);  // 255 where true
  }
  if (feather > 0) cv::GaussianBlur(alpha, alpha, cv::Size(), feather);
  cv::Mat out;
  cv::cvtColor(image, out, cv::COLOR_BGR2BGRA);
  cv::Mat channels[4];
  cv::split(out, channels);
  channels[3] = alpha;
  cv::merge(channels, 4, out);
  return out;
}

}  // namespace cvtool
