#pragma once
// COCO-style detection metrics, computed as pycocotools does for area range "all" and
// maxDets 100: IoU thresholds .50:.05:.95, 101-point interpolated precision, crowd
// ground truth ignored (detections matching it neither count nor hurt). What IoU
// compares is a CocoGeometry: boxes here (iouType "bbox"), masks in
// segment/mask_eval.hpp ("segm"). No LibTorch.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cvtool {

struct CocoEvalOptions {
  int max_detections = 100;  // per image, best scores first (pycocotools maxDets)
  // When not empty, a prediction's category_id is an index into these names (as
  // `cvtool detect -o` writes them) and is mapped onto the ground truth category of
  // that name. Empty: predictions carry the ground truth's category ids.
  std::vector<std::string> labels;
};

struct CocoClassResult {
  int category_id = 0;
  std::string name;
  std::size_t ground_truth = 0;  // non-crowd boxes
  std::size_t detections = 0;    // predictions of this class on ground-truth images
  // Average precision; -1 when the class has no (non-crowd) ground truth box, in which
  // case it does not enter the means.
  double ap = -1, ap50 = -1, ap75 = -1;
};

struct CocoEvalResult {
  double map = -1, map50 = -1, map75 = -1;  // means over classes with ground truth
  std::vector<CocoClassResult> classes;     // ground truth categories, by id
  std::size_t images = 0, ground_truth = 0, predictions = 0;
  std::size_t unmatched_image_predictions =
      0;  // predictions on images not in the ground truth (ignored)
  std::size_t unknown_class_predictions =
      0;  // predictions whose class is not a ground truth category (ignored)
};

// How ground truth and predictions are compared: reads each one's geometry (box,
// mask) and gives the IoU of a pair.
class CocoGeometry {
 public:
  virtual ~CocoGeometry() = default;
  // Reads the geometry of a ground truth annotation or a prediction lying on `image`
  // (its entry in the ground truth's `images`); returns a handle for iou(). Throws
  // Error(Config) naming `at` when the entry lacks it.
  virtual std::size_t add(const nlohmann::json& entry, const nlohmann::json& image, const std::string& at) = 0;
  // IoU of prediction `prediction` with ground truth `ground_truth` (handles from
  // add); for crowd ground truth the union is the prediction's own area.
  virtual double iou(std::size_t prediction, std::size_t ground_truth, bool crowd) const = 0;
};

// The evaluation with any geometry. Predictions on images not in the ground truth are
// counted and ignored before their geometry is read.
CocoEvalResult evaluate_coco(const nlohmann::json& ground_truth, const nlohmann::json& predictions,
                             CocoGeometry& geometry, const CocoEvalOptions& options = {});

// `ground_truth`: a COCO instances document {images, annotations, categories}.
// `predictions`: a COCO results array [{image_id, category_id, bbox [x,y,w,h], score}].
// A prediction's image_id matches a ground truth image by id, or, when it is a string,
// by the stem of the image's file_name. Throws Error(Config) naming the offending
// entry when either document is malformed.
CocoEvalResult evaluate_coco_detections(const nlohmann::json& ground_truth,
                                        const nlohmann::json& predictions,
                                        const CocoEvalOptions& options = {});

// Precision at recall 0, .01, ..., 1 averaged (pycocotools' 101-point interpolation)
// for detections already sorted best first: `true_positive[i]` says whether the i-th
// matched a ground truth box, of `ground_truth` boxes in all. Exposed for tests.
double interpolated_average_precision(const std::vector<bool>& true_positive,
                                      std::size_t ground_truth);

}  // namespace cvtool
