#include "cvtool/train/augment.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

// Our own uniform draws on top of splitmix64, so the sequence is the same with any
// standard library (std::uniform_real_distribution is implementation-defined).
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
  bool chance(double p) { return p > 0 && unit() < p; }

 private:
  std::uint64_t state_;
};

int border_mode(const std::string& name) {
  if (name == "constant") return cv::BORDER_CONSTANT;
  if (name == "replicate") return cv::BORDER_REPLICATE;
  return cv::BORDER_REFLECT_101;
}

AugmentOp op_from(const nlohmann::json& section, const char* key) {
  AugmentOp op;
  if (!section.contains(key)) return op;
  const auto& j = section[key];
  op.p = j.value("p", 0.0);
  if (j.contains("range")) {
    op.lo = j["range"][0].get<double>();
    op.hi = j["range"][1].get<double>();
    if (op.lo > op.hi) throw Error(ErrorKind::Config, std::string("augment.") + key + ".range: lower bound above upper");
  }
  return op;
}

void apply_geometry(cv::Mat& img, const AugmentParams& a, Draw& d, AugmentTrace* trace) {
  const cv::Size size = img.size();
  const int border = border_mode(a.border);
  if (d.chance(a.crop.p)) {
    // Random crop of a kept area fraction with the image's aspect, resized back.
    double area = d.uniform(a.crop.lo, a.crop.hi);
    double side = std::sqrt(std::clamp(area, 0.01, 1.0));
    int w = std::max(1, int(std::lround(size.width * side))), h = std::max(1, int(std::lround(size.height * side)));
    int x = int(d.uniform(0, size.width - w + 1 - 1e-9)), y = int(d.uniform(0, size.height - h + 1 - 1e-9));
    cv::resize(img(cv::Rect(x, y, w, h)).clone(), img, size, 0, 0, cv::INTER_LINEAR);
    if (trace) trace->applied.push_back("crop");
  }
  double angle = 0, zoom = 1, tx = 0, ty = 0;
  bool warp = false;
  if (d.chance(a.rotate.p)) { angle = d.uniform(a.rotate.lo, a.rotate.hi); warp = true; if (trace) trace->applied.push_back("rotate"); }
  if (d.chance(a.scale.p)) { zoom = d.uniform(a.scale.lo, a.scale.hi); warp = true; if (trace) trace->applied.push_back("scale"); }
  if (d.chance(a.translate.p)) {
    tx = d.uniform(-a.translate.hi, a.translate.hi) * size.width;
    ty = d.uniform(-a.translate.hi, a.translate.hi) * size.height;
    warp = true;
    if (trace) trace->applied.push_back("translate");
  }
  if (warp) {
    cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(size.width / 2.0f, size.height / 2.0f), angle, zoom);
    m.at<double>(0, 2) += tx;
    m.at<double>(1, 2) += ty;
    cv::Mat out;
    cv::warpAffine(img, out, m, size, cv::INTER_LINEAR, border, cv::Scalar::all(0));
    img = out;
  }
  if (d.chance(a.hflip.p)) { cv::flip(img, img, 1); if (trace) trace->applied.push_back("hflip"); }
  if (d.chance(a.vflip.p)) { cv::flip(img, img, 0); if (trace) trace->applied.push_back("vflip"); }
}

void apply_colour(cv::Mat& img, const AugmentParams& a, Draw& d, AugmentTrace* trace) {
  cv::Mat f;
  img.convertTo(f, CV_32F);
  bool changed = false;
  if (d.chance(a.brightness.p)) {
    f += cv::Scalar::all(255.0 * d.uniform(a.brightness.lo, a.brightness.hi));
    changed = true;
    if (trace) trace->applied.push_back("brightness");
  }
  if (d.chance(a.contrast.p)) {
    double k = d.uniform(a.contrast.lo, a.contrast.hi);
    cv::Scalar mean = cv::mean(f);
    double m = f.channels() == 3 ? (mean[0] + mean[1] + mean[2]) / 3 : mean[0];
    f = (f - cv::Scalar::all(m)) * k + cv::Scalar::all(m);
    changed = true;
    if (trace) trace->applied.push_back("contrast");
  }
  if (d.chance(a.saturation.p) && f.channels() == 3) {
    double k = d.uniform(a.saturation.lo, a.saturation.hi);
    cv::Mat grey, grey3;
    cv::cvtColor(f, grey, cv::COLOR_BGR2GRAY);
    cv::cvtColor(grey, grey3, cv::COLOR_GRAY2BGR);
    f = grey3 + (f - grey3) * k;
    changed = true;
    if (trace) trace->applied.push_back("saturation");
  }
  if (d.chance(a.illumination.p)) {
    // A linear light gradient: one side brighter, the other darker, by up to strength.
    double strength = d.uniform(a.illumination.lo, a.illumination.hi);
    double theta = d.uniform(0, 2 * M_PI), c = std::cos(theta), s = std::sin(theta);
    double half = 0.5 * std::sqrt(double(f.cols) * f.cols + double(f.rows) * f.rows);
    cv::Mat gain(f.size(), CV_32F);
    for (int y = 0; y < f.rows; ++y) {
      float* g = gain.ptr<float>(y);
      for (int x = 0; x < f.cols; ++x)
        g[x] = float(1.0 + strength * ((x - f.cols / 2.0) * c + (y - f.rows / 2.0) * s) / half);
    }
    std::vector<cv::Mat> ch;
    cv::split(f, ch);
    for (auto& m : ch) m = m.mul(gain);
    cv::merge(ch, f);
    changed = true;
    if (trace) trace->applied.push_back("illumination");
  }
  if (changed) f.convertTo(img, img.type());  // saturates to 0..255
}

void apply_noise(cv::Mat& img, const AugmentParams& a, Draw& d, AugmentTrace* trace) {
  if (d.chance(a.blur.p)) {
    double sigma = d.uniform(a.blur.lo, a.blur.hi);
    if (sigma > 0) cv::GaussianBlur(img, img, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
    if (trace) trace->applied.push_back("blur");
  }
  if (d.chance(a.gaussian_noise.p)) {
    double sd = d.uniform(a.gaussian_noise.lo, a.gaussian_noise.hi);
    cv::RNG rng(d.next());
    cv::Mat noise(img.size(), CV_32FC(img.channels()));
    rng.fill(noise, cv::RNG::NORMAL, 0.0, sd);
    cv::Mat f;
    img.convertTo(f, CV_32F);
    f += noise;
    f.convertTo(img, img.type());
    if (trace) trace->applied.push_back("gaussian_noise");
  }
  if (d.chance(a.salt_pepper.p)) {
    double amount = d.uniform(a.salt_pepper.lo, a.salt_pepper.hi);
    auto n = std::int64_t(amount * img.total());
    for (std::int64_t i = 0; i < n; ++i) {
      int x = int(d.next() % std::uint64_t(img.cols)), y = int(d.next() % std::uint64_t(img.rows));
      unsigned char v = (d.next() & 1) ? 255 : 0;
      for (int c = 0; c < img.channels(); ++c) img.ptr<unsigned char>(y)[x * img.channels() + c] = v;
    }
    if (trace) trace->applied.push_back("salt_pepper");
  }
  if (d.chance(a.cutout.p)) {
    int shorter = std::min(img.cols, img.rows);
    for (int k = 0; k < a.cutout_count; ++k) {
      int side = std::max(1, int(std::lround(shorter * d.uniform(a.cutout.lo, a.cutout.hi))));
      int cx = int(d.next() % std::uint64_t(img.cols)), cy = int(d.next() % std::uint64_t(img.rows));
      cv::Rect hole = cv::Rect(cx - side / 2, cy - side / 2, side, side) & cv::Rect(0, 0, img.cols, img.rows);
      img(hole).setTo(cv::Scalar::all(a.cutout_fill));
    }
    if (trace) trace->applied.push_back("cutout");
  }
}

}  // namespace

bool AugmentParams::any() const {
  for (const AugmentOp* op : {&hflip, &vflip, &rotate, &scale, &translate, &crop, &brightness, &contrast, &saturation,
                              &illumination, &blur, &gaussian_noise, &salt_pepper, &cutout})
    if (op->p > 0) return true;
  return false;
}

AugmentParams augment_params_from_json(const nlohmann::json& s) {
  AugmentParams a;
  a.hflip = op_from(s, "hflip");
  a.vflip = op_from(s, "vflip");
  a.rotate = op_from(s, "rotate");
  a.scale = op_from(s, "scale");
  a.translate = op_from(s, "translate");
  a.crop = op_from(s, "crop");
  a.brightness = op_from(s, "brightness");
  a.contrast = op_from(s, "contrast");
  a.saturation = op_from(s, "saturation");
  a.illumination = op_from(s, "illumination");
  a.blur = op_from(s, "blur");
  a.gaussian_noise = op_from(s, "gaussian_noise");
  a.salt_pepper = op_from(s, "salt_pepper");
  a.cutout = op_from(s, "cutout");
  if (s.contains("cutout")) {
    a.cutout_count = s["cutout"].value("count", 1);
    a.cutout_fill = s["cutout"].value("fill", 0.0);
  }
  a.border = s.value("border", std::string("reflect"));
  return a;
}

cv::Mat Augmenter::apply(const cv::Mat& image, std::uint64_t seed, AugmentTrace* trace) const {
  if (image.empty() || image.depth() != CV_8U) throw Error(ErrorKind::Input, "augment: expected a non-empty 8-bit image");
  cv::Mat img = image.clone();
  // Every op draws its coin (and parameters only when applied) from one stream, in a
  // fixed order: the result is a pure function of (image, params, seed).
  Draw d(mix_seed(seed, 0x5EEDull));
  apply_geometry(img, params_, d, trace);
  apply_colour(img, params_, d, trace);
  apply_noise(img, params_, d, trace);
  return img;
}

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t hash_string(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace cvtool
