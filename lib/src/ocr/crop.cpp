#include "cvtool/ocr/crop.hpp"

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace cvtool {

cv::Mat crop_text_region(const cv::Mat& image, const Quad& q) {
  int width = std::max(1, int(std::max(cv::norm(q[0] - q[1]), cv::norm(q[2] - q[3]))));
  int height = std::max(1, int(std::max(cv::norm(q[0] - q[3]), cv::norm(q[1] - q[2]))));
  const cv::Point2f dst[4] = {
      {0, 0}, {float(width), 0}, {float(width), float(height)}, {0, float(height)}};
  cv::Mat m = cv::getPerspectiveTransform(q.data(), dst);
  cv::Mat crop;
  cv::warpPerspective(image, crop, m, cv::Size(width, height), cv::INTER_CUBIC,
                      cv::BORDER_REPLICATE);
  if (crop.rows >= 1.5 * crop.cols) cv::rotate(crop, crop, cv::ROTATE_90_COUNTERCLOCKWISE);
  return crop;
}

}  // namespace cvtool
