#include "cvtool/embed/contact_sheet.hpp"

#include <opencv2/imgproc.hpp>

#include "cvtool/core/geometry.hpp"

namespace cvtool {

cv::Mat contact_sheet(const std::vector<cv::Mat>& images, const std::vector<std::string>& captions,
                      const ContactSheetOptions& o) {
  const int count = std::min<int>(int(images.size()), o.max_images);
  const int cols = std::max(1, std::min(o.columns, std::max(count, 1)));
  const int rows = std::max(1, (count + cols - 1) / cols);
  const int caption_h = 18;
  const int cell_w = o.thumb + 4, cell_h = o.thumb + caption_h + 4;
  cv::Mat sheet(rows * cell_h, cols * cell_w, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < count; ++i) {
    const int x = (i % cols) * cell_w + 2, y = (i / cols) * cell_h + 2;
    cv::Mat cell = sheet(cv::Rect(x, y, o.thumb, o.thumb));
    if (images[i].empty() || images[i].type() != CV_8UC3) {
      cell.setTo(cv::Scalar(160, 160, 160));
    } else {
      apply_resize(images[i], make_resize_map(images[i].size(), cell.size(), ResizeMode::Letterbox), cv::Scalar(255, 255, 255))
          .copyTo(cell);
    }
    if (i < int(captions.size())) {
      std::string text = captions[i];
      // Keep the end of long names: the file name is the informative part.
      const std::size_t max_chars = std::size_t(std::max(4, o.thumb / 8));
      if (text.size() > max_chars) text = ".." + text.substr(text.size() - max_chars + 2);
      cv::putText(sheet, text, cv::Point(x, y + o.thumb + caption_h - 5), cv::FONT_HERSHEY_SIMPLEX, 0.4,
                  cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
  }
  return sheet;
}

}  // namespace cvtool
