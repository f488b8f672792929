#pragma once
// Global camera motion between consecutive frames: corners on a downscaled grey frame,
// tracked with pyramidal Lucas-Kanade, and a similarity transform (rotation, uniform
// scale, translation) fitted with RANSAC so that moving objects count as outliers.
// The tracker moves its Kalman predictions by it (see ByteTracker::apply_camera_motion).
#include <opencv2/core.hpp>

namespace cvtool {

struct CameraMotionParams {
  int max_side = 640;           // frames are downscaled so the long side is at most this
  int max_corners = 400;
  double corner_quality = 0.01;
  double min_corner_distance = 8;  // pixels of the downscaled frame
  double ransac_threshold = 2;     // pixels of the downscaled frame
  int min_inliers = 12;            // fewer: no estimate (identity)
};

class CameraMotionEstimator {
 public:
  explicit CameraMotionEstimator(CameraMotionParams params = {});
  // Warp taking pixel coordinates of the previous frame to this one (full resolution).
  // Identity for the first frame, after a size change, or when too few points agree.
  cv::Matx23d estimate(const cv::Mat& frame);
  int inliers() const { return inliers_; }  // of the last estimate

 private:
  CameraMotionParams params_;
  cv::Mat previous_;
  double scale_ = 1;
  int inliers_ = 0;
};

// The identity warp, and whether a warp is (numerically) one.
cv::Matx23d identity_warp();
bool is_identity(const cv::Matx23d& warp, double eps = 1e-9);

}  // namespace cvtool
