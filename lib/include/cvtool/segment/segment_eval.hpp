#pragma once
// Scoring segmentations: mean and per-class IoU of label maps, and COCO mask AP of
// instances (pycocotools' iouType "segm"). No LibTorch.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cvtool/detect/coco_eval.hpp"

namespace cvtool {

struct ClassIou {
  int class_id = 0;
  std::string name;
  std::uint64_t intersection = 0, union_pixels = 0;
  std::uint64_t ground_truth = 0, predicted = 0;  // pixels
  double iou = -1;  // -1 when the class appears in neither ground truth nor prediction
};

struct LabelMapEvalResult {
  std::vector<ClassIou> classes;  // ids 0..names-1, plus any other id seen, by id
  double mean_iou = -1;           // over classes with a non-empty union
  double pixel_accuracy = -1;     // correct / scored pixels
  std::size_t images = 0;
  std::uint64_t pixels = 0;         // scored (ground truth not ignore_index)
  std::size_t unmatched_predictions = 0;  // prediction files with no ground truth (ignored)
};

// Accumulates a 256 x 256 confusion matrix, rows ground truth, columns prediction,
// leaving out pixels whose ground truth is `ignore_index` (-1: none). Both maps
// CV_8UC1 of one size, else Error(Config) naming `what`.
class LabelMapScorer {
 public:
  explicit LabelMapScorer(int ignore_index = 255) : ignore_(ignore_index), confusion_(256 * 256, 0) {}
  void add(const cv::Mat& ground_truth, const cv::Mat& prediction, const std::string& what);
  // Per-class IoU = intersection / union summed over every image added (not a mean of
  // per-image IoUs). `names` gives class names and the classes always listed.
  LabelMapEvalResult result(const std::vector<std::string>& names = {}) const;

 private:
  int ignore_;
  std::size_t images_ = 0;
  std::vector<std::uint64_t> confusion_;
};

// A label map PNG as class indices: palette PNGs give their indices (not colours, as
// OpenCV's imread would), 8-bit grey PNGs their values, RGB PNGs whose channels are
// equal (a grey palette expanded) one channel. Throws Error(Config) naming the file.
cv::Mat read_label_map(const std::string& path);

// Every *.png in `gt_dir` against the PNG of the same stem in `pred_dir` (a missing
// prediction is an Error(Config)).
LabelMapEvalResult evaluate_label_map_folders(const std::string& gt_dir, const std::string& pred_dir,
                                              int ignore_index, const std::vector<std::string>& names = {});

// COCO mask AP: as evaluate_coco_detections but IoU over masks: `segmentation` as
// polygons or RLE (compressed or not) in the ground truth, RLE in predictions (what
// `cvtool segment -o` writes); ground truth images need width and height.
CocoEvalResult evaluate_coco_masks(const nlohmann::json& ground_truth, const nlohmann::json& predictions,
                                   const CocoEvalOptions& options = {});

}  // namespace cvtool
