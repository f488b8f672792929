#pragma once
// Sparse optical flow: Shi-Tomasi corners followed with pyramidal Lucas-Kanade, checked
// by tracking them back (forward-backward error), plus the pure pieces a tracker builds
// on: the forward-backward filter and a robust box update (median translation, median
// ratio of pairwise distances for scale). Also point tracks with stable ids over a
// video, for `cvtool flow --sparse`.
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

namespace cvtool {

struct LkParams {
  int max_corners = 200;
  double quality = 0.01;      // goodFeaturesToTrack qualityLevel
  double min_distance = 5;    // pixels between corners
  int win_size = 15;          // LK window side
  int levels = 3;             // pyramid levels above the image
  double fb_threshold = 1.0;  // pixels: points that do not come back this close are dropped
};

struct LkStep {
  std::vector<cv::Point2f> from, to;
  std::vector<float> fb_error;  // |from - back(to)|; infinity where LK failed either way
  std::vector<unsigned char> keep;
};

// Corners of `gray` inside `roi` (the whole image when empty), at most params.max_corners.
std::vector<cv::Point2f> seed_features(const cv::Mat& gray, const cv::Rect& roi, const LkParams& params,
                                       const cv::Mat& extra_mask = cv::Mat());

// `points` of `prev_gray` followed into `gray` and back; `keep` by forward_backward_keep.
LkStep lk_forward_backward(const cv::Mat& prev_gray, const cv::Mat& gray, const std::vector<cv::Point2f>& points,
                           const LkParams& params);

// 1 where both passes succeeded (`ok`) and the point came back within `threshold` px.
std::vector<unsigned char> forward_backward_keep(const std::vector<cv::Point2f>& points,
                                                 const std::vector<cv::Point2f>& back,
                                                 const std::vector<unsigned char>& ok, double threshold,
                                                 std::vector<float>* errors = nullptr);

// `box` moved by the median displacement from -> to and scaled about its centre by the
// median ratio of pairwise distances (1 with fewer than two points); nullopt when empty.
std::optional<cv::Rect2d> robust_box_update(const cv::Rect2d& box, const std::vector<cv::Point2f>& from,
                                            const std::vector<cv::Point2f>& to);

// Points followed through a video with stable ids: lost points end, and new corners
// (away from the live ones) are added when fewer than half of max_corners are left.
class PointTracks {
 public:
  struct Point {
    int id;
    cv::Point2f at;
    float fb_error;  // 0 on the frame a point is born
  };
  explicit PointTracks(const LkParams& params) : params_(params) {}
  // The points alive in this frame; the first call only seeds.
  std::vector<Point> update(const cv::Mat& gray);

 private:
  LkParams params_;
  cv::Mat prev_;
  std::vector<Point> points_;
  int next_id_ = 1;
};

}  // namespace cvtool
