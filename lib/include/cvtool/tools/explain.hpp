#pragma once
// `cvtool explain` as a library call: saliency maps for one class score of a
// TorchScript classifier (or one class channel of a detector's score map):
//   gradcam    Grad-CAM on a named convolutional layer (ReLU of the gradient-weighted
//              sum of its channels, upsampled to the model input),
//   gradient   |d score / d pixel|, max over colour channels,
//   occlusion  drop of the score when a patch of the input is filled, averaged over
//              the patches covering each pixel (signed: negative = the patch helped).
// Maps are float, in model-input pixels (the image as resized for the model).
// No LibTorch in this header: see explain_model.hpp for the tensor-level pieces.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct ExplainParams {
  std::vector<std::string> methods{"gradcam", "gradient", "occlusion"};
  std::string layer;  // gradcam: "features.6" or "backbone:relu[:k]" (see explain_model.hpp)
  int class_id = -1;          // the explained class; -1: the top-1 prediction
  std::string score = "logit";  // logit or probability (softmax)
  int occlusion_patch = 8, occlusion_stride = 4;  // in model-input pixels
  double occlusion_fill = 0.5;  // patch value, 0..1 pixel units
  int batch = 32;               // occluded images per forward
  int output = 0, channel_dim = 1;  // which output; class dimension of a dense output
};

// Reads a validated "explain" section.
ExplainParams explain_params_from_json(const nlohmann::json& section);

struct SaliencyMap {
  std::string method;
  cv::Mat map;  // CV_32F, model input size
};

struct Explanation {
  int class_id = 0;
  std::string label;
  float logit = 0, probability = 0;  // of the explained class on the clean image
  std::vector<SaliencyMap> maps;     // in the order of params.methods
  // gradient method only: d score / d pixel, CV_32FC3 in the model's colour order,
  // pixels in 0..1 units.
  cv::Mat gradient;
};

class Explainer {
 public:
  // `config`: validated explain config ("model", "runtime", "explain").
  Explainer(const nlohmann::json& config, ExplainParams params);
  ~Explainer();
  Explainer(Explainer&&) noexcept;

  Explanation explain(const cv::Mat& image_bgr);
  // An input image (model size, BGR) that maximally excites `channel` of the layer:
  // gradient ascent on the mean activation with a small L2 pull to grey.
  cv::Mat maximize_activation(int channel, int steps = 200, double lr = 0.05);

  cv::Size input_size() const;
  const std::vector<std::string>& labels();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The image with `map` (positive part, normalised to its max) as a JET heat map on top,
// `map` resized to the image.
cv::Mat overlay_heatmap(const cv::Mat& image_bgr, const cv::Mat& map, double alpha = 0.5);

// The mass of the positive part of `map` inside `roi`, as a fraction of the whole.
double mass_fraction(const cv::Mat& map, const cv::Rect& roi);

}  // namespace cvtool
