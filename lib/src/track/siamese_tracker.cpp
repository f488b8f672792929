#include "cvtool/track/siamese_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"

namespace cvtool {

namespace {

// Square crop of side `side` centred on `centre`, resized to `size` x `size`; outside
// the frame is filled with the frame's mean colour, as SiamFC does.
cv::Mat crop_square(const cv::Mat& frame, cv::Point2d centre, double side, int size, const cv::Scalar& fill) {
  double k = size / side;
  cv::Matx23d m(k, 0, size / 2.0 - k * centre.x, 0, k, size / 2.0 - k * centre.y);
  cv::Mat out;
  cv::warpAffine(frame, out, m, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT, fill);
  return out;
}

class SiameseTracker : public SingleObjectTracker {
 public:
  explicit SiameseTracker(const SiameseParams& p) : p_(p), model_(p.model, ModelOptions{p.device, ""}) {}

  void init(const cv::Mat& frame, const cv::Rect2d& box) override {
    if (box.width <= 0 || box.height <= 0 || (box & cv::Rect2d(0, 0, frame.cols, frame.rows)).area() < 4)
      throw Error(ErrorKind::Usage, "--init box lies outside the first frame");
    centre_ = {box.x + box.width / 2, box.y + box.height / 2};
    size_ = {box.width, box.height};
    fill_ = cv::mean(frame);
    cv::Mat z = crop_square(frame, centre_, exemplar_side(), p_.exemplar_size, fill_);
    kernel_ = features({z});  // 1 x C x k x k
    kernel_ = kernel_ / kernel_.norm().clamp_min(1e-6);
    ones_ = torch::ones({1, kernel_.size(1), kernel_.size(2), kernel_.size(3)});
    lost_ = false;
  }

  SingleTrackResult update(const cv::Mat& frame) override {
    const double scales[3] = {1 / p_.scale_step, 1.0, p_.scale_step};
    const double growth = lost_ ? p_.lost_search_growth : 1.0;
    const int search_px = int(std::lround(p_.search_size * growth / p_.stride)) * p_.stride;
    const double search_side = exemplar_side() * search_px / p_.exemplar_size;
    std::vector<cv::Mat> crops;
    for (double s : scales) crops.push_back(crop_square(frame, centre_, search_side * s, search_px, fill_));
    torch::Tensor x = features(crops);  // 3 x C x H x W
    // Cosine similarity of the kernel with every window of the search features.
    torch::Tensor dot = torch::conv2d(x, kernel_);
    torch::Tensor energy = torch::conv2d(x * x, ones_).clamp_min(1e-6).sqrt();
    torch::Tensor response = (dot / energy).squeeze(1).contiguous();  // 3 x R x R
    const int rh = int(response.size(1)), rw = int(response.size(2));

    // Upsample to search-patch pixels; pick the scale with the best (penalised) peak.
    const int uh = rh * p_.stride, uw = rw * p_.stride;
    cv::Mat window = hann(uh, uw);
    int best_scale = 1;
    double best_score = -1e9;
    cv::Mat best_map;
    for (int i = 0; i < 3; ++i) {
      cv::Mat r(rh, rw, CV_32F, response[i].data_ptr<float>()), up;
      cv::resize(r, up, cv::Size(uw, uh), 0, 0, cv::INTER_CUBIC);
      double peak;
      cv::minMaxLoc(up, nullptr, &peak);
      if (i != 1) peak *= p_.scale_penalty;
      if (peak > best_score) best_score = peak, best_scale = i, best_map = up;
    }
    cv::Mat mixed = (1 - p_.window_influence) * best_map + p_.window_influence * window;
    cv::Point at;
    cv::minMaxLoc(mixed, nullptr, nullptr, nullptr, &at);
    const double confidence = best_map.at<float>(at);

    SingleTrackResult r;
    r.score = confidence;
    const bool found = confidence >= (lost_ ? p_.found_above : p_.lost_below);
    if (found) {
      // One upsampled pixel is one search-patch pixel; the patch is search_side wide.
      double to_image = search_side * scales[best_scale] / search_px;
      centre_.x += (at.x - (uw - 1) / 2.0) * to_image;
      centre_.y += (at.y - (uh - 1) / 2.0) * to_image;
      double s = (1 - p_.scale_rate) + p_.scale_rate * scales[best_scale];
      size_ *= s;
      centre_.x = std::clamp(centre_.x, 0.0, double(frame.cols));
      centre_.y = std::clamp(centre_.y, 0.0, double(frame.rows));
    }
    r.state = found ? (lost_ ? TrackState::Recovered : TrackState::Tracking) : TrackState::Lost;
    lost_ = !found;
    r.box = cv::Rect2d(centre_.x - size_.width / 2, centre_.y - size_.height / 2, size_.width, size_.height);
    return r;
  }

 private:
  double exemplar_side() const {
    double pad = p_.context * (size_.width + size_.height);
    return std::sqrt((size_.width + pad) * (size_.height + pad));
  }

  // Backbone features of same-size BGR crops, as N x C x h x w.
  torch::Tensor features(const std::vector<cv::Mat>& crops) {
    const int h = crops[0].rows, w = crops[0].cols;
    torch::Tensor input = torch::empty({long(crops.size()), h, w, 3}, torch::kFloat32);
    for (std::size_t i = 0; i < crops.size(); ++i) {
      cv::Mat rgb, f;
      cv::cvtColor(crops[i], rgb, cv::COLOR_BGR2RGB);
      rgb.convertTo(f, CV_32FC3);
      std::memcpy(input[long(i)].data_ptr<float>(), f.ptr<float>(), sizeof(float) * std::size_t(h * w * 3));
    }
    auto out = output_tensors(model_.forward(input.to(model_.device())), model_.path().string());
    if (out.size() != 1 || out[0].dim() != 4)
      throw Error(ErrorKind::Model, model_.path().string() + ": expected one N x h x w x C feature map, got " +
                                        (out.empty() ? std::string("nothing") : describe_shape(out[0])));
    return out[0].to(torch::kCPU).permute({0, 3, 1, 2}).contiguous();
  }

  cv::Mat hann(int h, int w) {
    if (window_.rows == h && window_.cols == w) return window_;
    cv::Mat wy(h, 1, CV_32F), wx(1, w, CV_32F);
    for (int i = 0; i < h; ++i) wy.at<float>(i) = float(0.5 - 0.5 * std::cos(2 * CV_PI * (i + 0.5) / h));
    for (int i = 0; i < w; ++i) wx.at<float>(i) = float(0.5 - 0.5 * std::cos(2 * CV_PI * (i + 0.5) / w));
    window_ = wy * wx;
    return window_;
  }

  SiameseParams p_;
  Model model_;
  cv::Point2d centre_;
  cv::Size2d size_;
  cv::Scalar fill_;
  torch::Tensor kernel_, ones_;
  cv::Mat window_;
  bool lost_ = false;
};

}  // namespace

std::unique_ptr<SingleObjectTracker> make_siamese_tracker(const SiameseParams& params) {
  if (params.model.empty()) throw Error(ErrorKind::Config, "single_object.siamese.model: no backbone model given");
  return std::make_unique<SiameseTracker>(params);
}

}  // namespace cvtool
