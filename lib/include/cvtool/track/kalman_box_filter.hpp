#pragma once
// Constant-velocity Kalman filter on a box (centre x, centre y, aspect w/h, height),
// with noise proportional to the box height as in ByteTrack/DeepSORT.
#include <array>

#include <opencv2/core/matx.hpp>

namespace cvtool {

class KalmanBoxFilter {
 public:
  // Starts at the measured x1,y1,x2,y2 box with zero velocity.
  explicit KalmanBoxFilter(const std::array<float, 4>& box);
  void predict();
  void update(const std::array<float, 4>& box);
  // Moves the state by a camera warp (previous frame -> this frame): the centre by the
  // whole warp, the velocity by its linear part, height by its scale; covariance alike.
  void apply_warp(const cv::Matx23d& warp);
  std::array<float, 4> box() const;  // x1, y1, x2, y2 of the current mean
  const cv::Matx<double, 8, 1>& mean() const { return mean_; }

 private:
  cv::Matx<double, 8, 1> mean_;
  cv::Matx<double, 8, 8> cov_;
};

}  // namespace cvtool
