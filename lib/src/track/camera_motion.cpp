#include "cvtool/track/camera_motion.hpp"

#include <cmath>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>
#include <vector>

namespace cvtool {

cv::Matx23d identity_warp() { return {1, 0, 0, 0, 1, 0}; }

bool is_identity(const cv::Matx23d& warp, double eps) {
  return cv::norm(cv::Mat(warp - identity_warp()), cv::NORM_INF) <= eps;
}

CameraMotionEstimator::CameraMotionEstimator(CameraMotionParams params) : params_(params) {}

cv::Matx23d CameraMotionEstimator::estimate(const cv::Mat& frame) {
  inliers_ = 0;
  if (frame.empty()) return identity_warp();
  cv::Mat grey;
  if (frame.channels() == 1) grey = frame;
  else cv::cvtColor(frame, grey, frame.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  double scale = std::min(1.0, double(params_.max_side) / std::max(frame.cols, frame.rows));
  cv::Mat small;
  if (scale < 1) cv::resize(grey, small, cv::Size(), scale, scale, cv::INTER_AREA);
  else small = grey.clone();

  cv::Matx23d warp = identity_warp();
  if (!previous_.empty() && previous_.size() == small.size() && scale == scale_) {
    std::vector<cv::Point2f> from, to;
    cv::goodFeaturesToTrack(previous_, from, params_.max_corners, params_.corner_quality, params_.min_corner_distance);
    if (int(from.size()) >= params_.min_inliers) {
      std::vector<unsigned char> status;
      std::vector<float> error;
      cv::calcOpticalFlowPyrLK(previous_, small, from, to, status, error);
      std::vector<cv::Point2f> a, b;
      for (std::size_t i = 0; i < status.size(); ++i)
        if (status[i]) a.push_back(from[i]), b.push_back(to[i]);
      if (int(a.size()) >= params_.min_inliers) {
        std::vector<unsigned char> inlier;
        cv::Mat m = cv::estimateAffinePartial2D(a, b, inlier, cv::RANSAC, params_.ransac_threshold);
        int count = cv::countNonZero(inlier);
        if (!m.empty() && count >= params_.min_inliers) {
          inliers_ = count;
          // Same linear part at full resolution; the translation scales back up.
          warp = cv::Matx23d(m.at<double>(0, 0), m.at<double>(0, 1), m.at<double>(0, 2) / scale,
                             m.at<double>(1, 0), m.at<double>(1, 1), m.at<double>(1, 2) / scale);
        }
      }
    }
  }
  previous_ = small;
  scale_ = scale;
  return warp;
}

}  // namespace cvtool
