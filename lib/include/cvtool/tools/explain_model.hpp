#pragma once
// A TorchScript classifier (or any model with a score to pick) that can be
// differentiated with respect to its input pixels, for saliency, adversarial
// attacks and robustness runs. Includes LibTorch: only code passing tensors uses it.
//
// Pixels are N x 3 x H x W floats in [0, 1], in the model's colour order, already
// resized to the model input; the model's scale/mean/std/layout are applied inside,
// as torch ops, so gradients reach the pixels.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/script.h>

#include "cvtool/core/tensor.hpp"

namespace cvtool {

struct ScoreTarget {
  int output = 0;         // which output tensor of a tuple/list output
  // For an output with more than two dimensions (a detector heatmap), the class
  // channel's dimension; the score is then the max of that channel over the rest.
  int channel_dim = 1;
};

class GradClassifier {
 public:
  // `config` holds a validated classify-style "model" section (path, input_size,
  // resize, pad_value, color, scale, mean, std, layout, labels) and "runtime.device".
  // With `capture_layer`, every forward keeps that layer's output, for Grad-CAM:
  // "features.3" is a submodule (its output as called by its parent's forward);
  // "backbone:relu:-1" is the last aten::relu node in backbone's own forward (for
  // models built from functional ops; ":conv2d:0" = the root's first conv). Throws
  // Error(Model) naming what is there when the layer cannot be found.
  explicit GradClassifier(const nlohmann::json& config, const std::string& capture_layer = "",
                          ScoreTarget target = {});

  // Decodes nothing: resizes BGR images to the input size and returns pixels.
  torch::Tensor pixels(const std::vector<cv::Mat>& images_bgr) const;
  // Pixels back to an 8-bit BGR image (for writing adversarial examples).
  cv::Mat to_image(const torch::Tensor& pixels_chw) const;

  // Class scores N x C (logits: no softmax), differentiable in `pixels`.
  torch::Tensor logits(const torch::Tensor& pixels);
  // The captured layer output of the last logits() call (undefined without a layer).
  torch::Tensor activation() const;

  // Runs one forward on a black image (so it replaces the captured activation).
  int num_classes();
  const std::vector<std::string>& labels();
  cv::Size input_size() const { return input_size_; }
  const Normalization& normalization() const { return norm_; }
  const std::string& path() const { return path_; }

 private:
  void install_capture(const std::string& layer);

  torch::jit::Module module_;
  std::optional<torch::jit::Module> capture_owner_;
  std::string capture_attr_;
  std::string path_;
  Normalization norm_;
  cv::Size input_size_;
  std::string resize_;
  double pad_value_ = 0;
  std::vector<std::string> labels_;
  ScoreTarget target_;
  torch::Device device_{torch::kCPU};
};

// Fast gradient sign method: one step of size eps (pixel units, 0..1) up the
// cross-entropy of `labels` (N int64), clamped to [0, 1].
torch::Tensor fgsm(GradClassifier& model, const torch::Tensor& pixels, const torch::Tensor& labels, double eps);
// Projected gradient descent in the L-inf ball of radius eps: `steps` steps of size
// `step` (0: 2.5 * eps / steps), starting from the clean image (no random start, so
// runs are reproducible).
torch::Tensor pgd(GradClassifier& model, const torch::Tensor& pixels, const torch::Tensor& labels, double eps,
                  int steps, double step = 0);

// The same attacks on tensors already normalised for the model (what the trainer
// feeds): eps is in pixel units and is scaled per channel by the normalisation;
// results are clamped to the normalised image of [0, 1].
torch::Tensor fgsm_normalized(torch::jit::Module& model, const torch::Tensor& inputs, const torch::Tensor& labels,
                              double eps, const Normalization& norm);

}  // namespace cvtool
