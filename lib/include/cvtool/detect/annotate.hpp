#pragma once
// Drawing detections and writing them in the formats other tools read.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cvtool/detect/detection.hpp"

namespace cvtool {

// A copy of `image` with boxes, labels and scores; line width and text size follow
// the image size so labels stay readable on thumbnails and on 8K photos alike.
cv::Mat draw_detections(const cv::Mat& image, const std::vector<Detection>& dets);

// A stable colour per class id.
cv::Scalar class_colour(int class_id);

// YOLO txt: "class cx cy w h [score]" per line, normalised to the image size.
std::string yolo_txt(const std::vector<Detection>& dets, cv::Size image_size, bool with_score);

// COCO results entries: {image_id, category_id, bbox [x, y, w, h], score}.
void append_coco_results(nlohmann::json& results, const nlohmann::json& image_id, const std::vector<Detection>& dets);

// The COCO image_id for a file: the mapping's entry for its file name when given,
// else its stem as an integer when numeric (as COCO names files), else the stem.
nlohmann::json coco_image_id(const std::string& source, const nlohmann::json& mapping);

}  // namespace cvtool
