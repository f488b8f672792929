#include <opencv2/videoio.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/interrupt.hpp"
#include "cvtool/core/source.hpp"

namespace cvtool {

struct FrameStream::State {
  std::vector<InputItem> items;
  SourceOptions options;
  std::size_t next_item = 0;
  // The video being read, if any.
  cv::VideoCapture video;
  std::string video_path;
  std::int64_t video_frame = 0;
  std::int64_t video_expected = 0;
};

FrameStream::FrameStream(std::vector<InputItem> items, SourceOptions options)
    : state_(std::make_unique<State>()) {
  state_->items = std::move(items);
  state_->options = options;
  if (state_->options.vid_stride < 1) state_->options.vid_stride = 1;
}
FrameStream::~FrameStream() = default;
FrameStream::FrameStream(FrameStream&&) noexcept = default;

std::size_t FrameStream::item_count() const { return state_->items.size(); }

std::optional<FrameOrFailure> FrameStream::next() {
  State& s = *state_;
  while (true) {
    if (stop_requested()) {
      s.video.release();  // an unfinished video is redone whole on --resume
      return std::nullopt;
    }
    if (s.video.isOpened() && s.options.max_video_frames > 0 && s.video_frame >= s.options.max_video_frames) {
      s.video.release();  // the rest of the video was not asked for
      continue;
    }
    if (s.video.isOpened()) {
      cv::Mat image;
      bool got = false;
      try {
        got = s.video.read(image);
      } catch (const cv::Exception& e) {
        s.video.release();
        return FrameOrFailure{{s.video_path, s.video_frame, {}}, s.video_path + ": video decode error at frame " +
                                                                      std::to_string(s.video_frame) + ": " + e.msg};
      }
      if (!got || image.empty()) {
        s.video.release();
        // The container's frame count is approximate; only a large shortfall means damage.
        if (s.video_frame == 0)
          return FrameOrFailure{{s.video_path, 0, {}}, s.video_path + ": video has no decodable frame"};
        if (s.video_expected > 0 && s.video_frame < s.video_expected * 9 / 10)
          return FrameOrFailure{{s.video_path, s.video_frame, {}},
                                s.video_path + ": video ends at frame " + std::to_string(s.video_frame) + " of " +
                                    std::to_string(s.video_expected) + " (truncated or corrupt)"};
        continue;
      }
      std::int64_t index = s.video_frame++;
      if (index % s.options.vid_stride != 0) continue;
      return FrameOrFailure{{s.video_path, index, image}, ""};
    }
    if (s.next_item >= s.items.size()) return std::nullopt;
    const InputItem& item = s.items[s.next_item++];
    if (item.skip) continue;
    if (!item.error.empty()) return FrameOrFailure{{item.path, -1, {}}, item.error};
    if (item.kind == InputKind::Video) {
      if (!s.video.open(item.path, cv::CAP_ANY) || !s.video.isOpened())
        return FrameOrFailure{{item.path, -1, {}}, item.path + ": cannot open video"};
      s.video_path = item.path;
      s.video_frame = 0;
      s.video_expected = std::int64_t(s.video.get(cv::CAP_PROP_FRAME_COUNT));
      continue;
    }
    try {
      return FrameOrFailure{{item.path, -1, decode_image(item.path, s.options.limits)}, ""};
    } catch (const Error& e) {
      return FrameOrFailure{{item.path, -1, {}}, e.what()};
    }
  }
}

}  // namespace cvtool
