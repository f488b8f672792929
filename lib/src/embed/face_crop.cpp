#include "face_crop.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"
#include "cvtool/core/geometry.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/tensor.hpp"

namespace cvtool {

std::vector<cv::Point2f> blazeface_anchors(int size) {
  std::vector<cv::Point2f> anchors;
  const int strides[2] = {size / 16, size / 8};
  const int per_cell[2] = {2, 6};
  for (int level = 0; level < 2; ++level) {
    const int stride = strides[level];
    const int cells = (size + stride - 1) / stride;
    for (int y = 0; y < cells; ++y)
      for (int x = 0; x < cells; ++x)
        for (int k = 0; k < per_cell[level]; ++k) anchors.emplace_back(stride * (x + 0.5f), stride * (y + 0.5f));
  }
  return anchors;
}

FaceCropper::FaceCropper(const std::string& detector_path, const std::string& device, const FaceCropOptions& options)
    : options_(options), anchors_(blazeface_anchors(options.detector_size)) {
  ModelOptions mo;
  mo.device = device;
  model_ = std::make_unique<Model>(detector_path, mo);
}

FaceCropper::~FaceCropper() = default;

FaceFound FaceCropper::find(const cv::Mat& image) {
  const int s = options_.detector_size;
  // Letterbox (human pads to a square too) so that the mapping back is exact.
  ResizeMap map = make_resize_map(image.size(), cv::Size(s, s), ResizeMode::Letterbox);
  cv::Mat input = apply_resize(image, map, cv::Scalar(0, 0, 0));
  Normalization norm;
  norm.scale = 1.0 / 127.5;
  norm.mean = {1, 1, 1};
  norm.layout = Layout::NHWC;
  auto outputs = output_tensors(model_->forward(images_to_tensor({input}, norm)), model_->path().string());
  // The converted graph returns scores and regressors for each anchor level,
  // in some order: sort them out by shape (N x A x 1 scores, N x A x 16 boxes).
  torch::Tensor scores[2], boxes[2];
  const int64_t level_sizes[2] = {int64_t(std::pow(s / (s / 16), 2) * 2), int64_t(std::pow(s / (s / 8), 2) * 6)};
  for (auto& t : outputs) {
    if (t.dim() != 3) continue;
    for (int l = 0; l < 2; ++l) {
      if (t.size(1) != level_sizes[l]) continue;
      if (t.size(2) == 1) scores[l] = t;
      if (t.size(2) == 16) boxes[l] = t;
    }
  }
  for (int l = 0; l < 2; ++l) {
    if (!scores[l].defined() || !boxes[l].defined())
      throw Error(ErrorKind::Model, model_->path().string() + ": expected BlazeFace outputs 1x" +
                                        std::to_string(level_sizes[l]) + "x1 and 1x" + std::to_string(level_sizes[l]) +
                                        "x16 for a " + std::to_string(s) + "-pixel input");
  }
  torch::Tensor score = torch::cat({scores[0][0], scores[1][0]}, 0).squeeze(1).sigmoid().to(torch::kCPU).contiguous();
  torch::Tensor reg = torch::cat({boxes[0][0], boxes[1][0]}, 0).to(torch::kCPU).contiguous();
  int64_t best = score.argmax().item<int64_t>();
  FaceFound face;
  float best_score = score[best].item<float>();
  if (best_score < options_.score_threshold) return face;
  face.score = best_score;
  const float* r = reg[best].data_ptr<float>();
  const cv::Point2f a = anchors_[best];
  const float cx = r[0] + a.x, cy = r[1] + a.y, w = r[2], h = r[3];
  cv::Point2d p1 = map.to_source({cx - w / 2, cy - h / 2}), p2 = map.to_source({cx + w / 2, cy + h / 2});
  face.box = {float(p1.x), float(p1.y), float(p2.x), float(p2.y)};
  for (int k = 0; k < 6; ++k) {
    cv::Point2d p = map.to_source({r[4 + 2 * k] + a.x, r[5 + 2 * k] + a.y});
    face.landmarks[k] = cv::Point2f(float(p.x), float(p.y));
  }
  return face;
}

cv::Mat FaceCropper::crop(const cv::Mat& image, const FaceFound& face, cv::Size out_size) const {
  const cv::Point2f center((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2);
  const float side = options_.enlarge * std::max(face.box[2] - face.box[0], face.box[3] - face.box[1]);
  double angle = 0;
  if (options_.align) {
    cv::Point2f e1 = face.landmarks[0], e2 = face.landmarks[1];
    if (e1.x > e2.x) std::swap(e1, e2);
    angle = std::atan2(e2.y - e1.y, e2.x - e1.x) * 180.0 / CV_PI;
  }
  // Rotate about the face centre, scale the crop side to the output, centre it.
  cv::Mat m = cv::getRotationMatrix2D(center, angle, 1.0);
  const double sx = out_size.width / std::max(side, 1.0f), sy = out_size.height / std::max(side, 1.0f);
  for (int c = 0; c < 3; ++c) {
    m.at<double>(0, c) *= sx;
    m.at<double>(1, c) *= sy;
  }
  m.at<double>(0, 2) += out_size.width / 2.0 - sx * center.x;
  m.at<double>(1, 2) += out_size.height / 2.0 - sy * center.y;
  cv::Mat out;
  cv::warpAffine(image, out, m, out_size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  return out;
}

}  // namespace cvtool
