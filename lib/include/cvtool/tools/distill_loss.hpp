#pragma once
// Knowledge distillation, tensor level: the loss and the teacher that feeds it.
// Includes LibTorch.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "cvtool/core/tensor.hpp"
#include "cvtool/train/trainer_hooks.hpp"

namespace cvtool {

// Per-sample loss (N): alpha * T^2 * KL(softmax(t/T) || softmax(s/T))
//                      + (1 - alpha) * cross_entropy(s, y)
// (Hinton et al. 2015; T^2 keeps the soft gradients' scale independent of T).
torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                const torch::Tensor& targets, double temperature, double alpha);

// How a student's input pixels map to the teacher's: the student batch is
// de-normalised to 0..255 pixels, colour order and size converted, and normalised
// the teacher's way.
struct InputAdapter {
  Normalization student, teacher;
  int teacher_width = 0, teacher_height = 0;  // 0: same as the student
  torch::Tensor operator()(const torch::Tensor& student_nchw) const;
};

class Teacher {
 public:
  // `classify_config`: a validated classify config (model path, preprocessing, labels).
  // `student_norm`: how the trainer normalises its batches; `student_classes`: the
  // student's class names (the teacher's outputs are reordered to them by label).
  Teacher(const nlohmann::json& classify_config, const Normalization& student_norm,
          const std::vector<std::string>& student_classes);
  // Teacher logits (its first output, taken as logits) in the student's class order,
  // without gradients.
  torch::Tensor logits(const torch::Tensor& student_inputs);

 private:
  torch::jit::Module module_;
  InputAdapter adapter_;
  std::vector<int64_t> order_;  // student class i = teacher output order_[i]
  std::string path_;
};

// Trainer hooks that train on distillation_loss against `teacher`.
TrainHooks distillation_hooks(std::shared_ptr<Teacher> teacher, double temperature, double alpha);

}  // namespace cvtool
