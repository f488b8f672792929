#pragma once
// Multi-object tracking by detection, ByteTrack style: Kalman-predicted tracks are
// matched to high-score detections first, then the still-unmatched tracks to the
// low-score ones (which recovers occluded objects), by IoU with optimal assignment.
#include <array>
#include <memory>
#include <vector>

#include "cvtool/detect/detection.hpp"
#include "cvtool/track/appearance.hpp"
#include "cvtool/track/kalman_box_filter.hpp"

namespace cvtool {

struct TrackerParams {
  float high_threshold = 0.5f;     // first-pass detections
  float low_threshold = 0.1f;      // second pass takes (low, high)
  float new_track_threshold = 0.6f;
  float match_iou = 0.2f;          // first pass: ByteTrack's match_thresh 0.8 is a cost 1 - IoU
  float second_match_iou = 0.5f;   // second pass (cost 0.5)
  float unconfirmed_match_iou = 0.3f;  // new tracks (cost 0.7)
  int min_hits = 2;                // a track is reported after this many matched frames
  int track_buffer = 30;           // frames a lost track is kept for re-identification
  float min_box_area = 10;         // tracks smaller than this are not reported
  // Appearance fused into the first (high-score) pass when update() gets embeddings.
  AppearanceParams appearance;
};

struct Track {
  int id = 0;
  int class_id = 0;
  std::string label;
  float score = 0;
  std::array<float, 4> box{};  // x1, y1, x2, y2
  int start_frame = 0;
  int hits = 0;
};

class ByteTracker {
 public:
  explicit ByteTracker(TrackerParams params = {});
  ~ByteTracker();
  // Feeds the detections of the next frame; returns the confirmed tracks seen in it.
  // `embeddings` (optional): one L2-normalised vector per detection, for appearance.
  std::vector<Track> update(const std::vector<Detection>& detections,
                            const std::vector<std::vector<float>>& embeddings = {});
  // Moves every track by the camera's motion from the previous frame to the next one
  // (CameraMotionEstimator); call before the update() of that frame.
  void apply_camera_motion(const cv::Matx23d& warp);
  int frame() const { return frame_; }

  struct State;  // a track with its filter; defined in byte_tracker.cpp

 private:
  TrackerParams params_;
  int frame_ = 0;
  int next_id_ = 1;
  std::vector<std::unique_ptr<State>> tracked_, lost_;
};

}  // namespace cvtool
