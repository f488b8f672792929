#pragma once
// Image augmentation for training and for `cvtool augment`: geometric (flips,
// rotation, scale, translation, random crop), photometric (brightness, contrast,
// saturation, illumination gradient), blur, Gaussian and salt-and-pepper noise,
// cutout. Each op has a probability and a range in the config ("augment" section,
// see configs/schema/augment.schema.json). The output depends only on the input
// image, the parameters and the seed passed to apply(): same seed, same bytes, in
// any order and on any thread.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct AugmentOp {
  double p = 0;                 // probability the op is applied
  double lo = 0, hi = 0;        // its range (meaning per op, see below)
};

struct AugmentParams {
  AugmentOp hflip, vflip;       // range unused
  AugmentOp rotate;             // degrees
  AugmentOp scale;              // zoom factor (1 = unchanged)
  AugmentOp translate;          // fraction of width/height, each axis uniform in [-hi, hi]
  AugmentOp crop;               // kept area fraction; the crop is resized back to the input size
  AugmentOp brightness;         // added value as a fraction of 255
  AugmentOp contrast;           // factor around the image mean
  AugmentOp saturation;         // factor (0 = grey)
  AugmentOp illumination;       // strength of a linear light gradient at a random angle
  AugmentOp blur;               // Gaussian sigma in pixels
  AugmentOp gaussian_noise;     // standard deviation in 0..255 units
  AugmentOp salt_pepper;        // fraction of pixels set to 0 or 255
  AugmentOp cutout;             // side of each square hole as a fraction of the shorter side
  int cutout_count = 1;
  double cutout_fill = 0;
  std::string border = "reflect";  // reflect, constant, replicate (for geometric ops)

  bool any() const;
};

// Reads a validated "augment" object (defaults filled in by the schema).
AugmentParams augment_params_from_json(const nlohmann::json& section);

// What was drawn for one image, for logs and tests.
struct AugmentTrace {
  std::vector<std::string> applied;
};

class Augmenter {
 public:
  explicit Augmenter(AugmentParams params) : params_(std::move(params)) {}
  // Returns an augmented copy of an 8-bit BGR (or grey) image, same size.
  cv::Mat apply(const cv::Mat& image, std::uint64_t seed, AugmentTrace* trace = nullptr) const;
  const AugmentParams& params() const { return params_; }

 private:
  AugmentParams params_;
};

// Mixes several values into one well-spread seed (splitmix64), so that per-sample
// seeds (run seed, epoch, sample index) do not correlate.
std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b);
// FNV-1a of a string, for seeds keyed by file name.
std::uint64_t hash_string(const std::string& s);

// A seeded Fisher-Yates shuffle on mix_seed: the same order on any platform
// (std::shuffle's algorithm is implementation-defined).
template <class T>
void seeded_shuffle(std::vector<T>& v, std::uint64_t seed) {
  std::uint64_t s = seed;
  for (std::size_t i = v.size(); i > 1; --i) {
    s = mix_seed(s, i);
    std::swap(v[i - 1], v[std::size_t(s % i)]);
  }
}

}  // namespace cvtool
