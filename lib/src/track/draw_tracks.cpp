#include "cvtool/track/draw_tracks.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <set>

#include "cvtool/detect/annotate.hpp"

namespace cvtool {

cv::Mat TrackDrawer::draw(const cv::Mat& image, const std::vector<Track>& tracks) {
  cv::Mat out = image.clone();
  int side = std::max(image.cols, image.rows);
  int thickness = std::max(1, int(std::lround(side / 400.0)));
  double font_scale = std::max(0.4, side / 1400.0);
  std::set<int> seen;
  for (const auto& t : tracks) {
    seen.insert(t.id);
    cv::Scalar colour = class_colour(t.id);
    cv::Point p1(int(std::lround(t.box[0])), int(std::lround(t.box[1])));
    cv::Point p2(int(std::lround(t.box[2])), int(std::lround(t.box[3])));
    auto& trail = trails_[t.id];
    trail.push_back((p1 + p2) / 2);
    while (int(trail.size()) > trail_length_) trail.pop_front();
    for (std::size_t i = 1; i < trail.size(); ++i) cv::line(out, trail[i - 1], trail[i], colour, thickness, cv::LINE_AA);
    cv::rectangle(out, p1, p2, colour, thickness, cv::LINE_AA);
    std::string text = "#" + std::to_string(t.id) + " " + t.label;
    cv::putText(out, text, cv::Point(p1.x, std::max(p1.y - 4, 12)), cv::FONT_HERSHEY_SIMPLEX, font_scale, colour,
                thickness, cv::LINE_AA);
  }
  // Trails of tracks not seen this frame fade out: forget them.
  for (auto it = trails_.begin(); it != trails_.end();) it = seen.count(it->first) ? std::next(it) : trails_.erase(it);
  return out;
}

}  // namespace cvtool
