#pragma once
// Inputs: turning command-line arguments into an ordered list of items, and items
// into decoded frames. A bad item never stops the stream: it comes out as a failure
// naming the file and the problem.
#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace cvtool {

enum class InputKind { Image, Video };

struct InputItem {
  std::string path;
  InputKind kind = InputKind::Image;
  std::string error;  // set when the item is known bad at enumeration (missing, unreadable)
  // Not read in this run (another shard's, or finished before --resume). Skipped items
  // stay in the list so output names do not depend on which items a run reads.
  bool skip = false;
};

bool is_image_extension(const std::filesystem::path& path);
bool is_video_extension(const std::filesystem::path& path);

// Expands arguments in order: a file stays itself; a directory gives its image and
// video files, recursively, sorted by path; a glob pattern gives its matches sorted;
// "@list.txt" gives the paths listed one per line (relative to the list's folder);
// "-" reads paths from `stdin_paths`. Missing paths become items with an error.
std::vector<InputItem> enumerate_inputs(const std::vector<std::string>& args,
                                        std::istream* stdin_paths = nullptr);

struct DecodeLimits {
  std::int64_t max_pixels = 100'000'000;  // rejects decompression bombs before decoding
};

// Decodes an image file to 8-bit BGR with its EXIF orientation applied. Throws
// Error(Input) "<path>: <problem>" for empty, truncated, oversized or undecodable files.
cv::Mat decode_image(const std::filesystem::path& path, const DecodeLimits& limits = {});

// Reads width and height from the header of a PNG, JPEG, BMP, GIF or WebP file
// without decoding it; nullopt for formats it does not know.
std::optional<cv::Size> sniff_image_size(const std::string& bytes);

// Empty when the encoded bytes look complete; otherwise what is wrong (a JPEG without
// its end marker, a PNG without IEND).
std::string find_truncation(const std::string& bytes);

struct Frame {
  std::string source;        // the input path
  std::int64_t index = -1;   // frame number in a video; -1 for a still image
  cv::Mat image;             // 8-bit BGR
};

struct FrameOrFailure {
  Frame frame;
  std::string error;  // non-empty: this input (or the rest of this video) failed
  bool ok() const { return error.empty(); }
};

struct SourceOptions {
  DecodeLimits limits;
  int vid_stride = 1;  // keep every Nth video frame
  std::int64_t max_video_frames = 0;  // stop each video after this many frames; 0: all
};

// Walks the items in order and yields frames (one per image, every vid_stride-th per
// video) or failures. Skips items marked `skip`; ends early once a stop was requested
// (cvtool/core/interrupt.hpp).
class FrameStream {
 public:
  FrameStream(std::vector<InputItem> items, SourceOptions options);
  ~FrameStream();
  FrameStream(FrameStream&&) noexcept;
  std::optional<FrameOrFailure> next();
  std::size_t item_count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cvtool
