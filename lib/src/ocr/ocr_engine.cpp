#include "cvtool/ocr/ocr_engine.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/tensor.hpp"
#include "cvtool/ocr/crop.hpp"
#include "cvtool/ocr/ctc_decode.hpp"
#include "cvtool/ocr/db_postprocess.hpp"
#include "cvtool/ocr/reading_order.hpp"

namespace cvtool {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::unique_ptr<Model> load_model(const nlohmann::json& section, const nlohmann::json& config) {
  ModelOptions options;
  options.device = config["runtime"]["device"].get<std::string>();
  if (!section["sha256"].is_null()) options.sha256 = section["sha256"].get<std::string>();
  options.channels_last = section.value("channels_last", false);  // schema default; configs built in code may omit it
  return std::make_unique<Model>(section["model"].get<std::string>(), options);
}

torch::Tensor single_output(Model& model, torch::Tensor input) {
  auto outs = output_tensors(model.forward(input.to(model.device())), model.path().string());
  if (outs.size() != 1)
    throw Error(ErrorKind::Model, model.path().string() + ": expected one output tensor, found " +
                                      std::to_string(outs.size()));
  return outs[0].to(torch::kCPU).to(torch::kFloat32).contiguous();
}

int interpolation_flag(const std::string& name) {
  if (name == "linear") return cv::INTER_LINEAR;
  if (name == "cubic") return cv::INTER_CUBIC;
  if (name == "lanczos") return cv::INTER_LANCZOS4;
  if (name == "area") return cv::INTER_AREA;
  throw Error(ErrorKind::Config, "rec.interpolation: unknown value '" + name + "'");
}

// PaddleOCR's recogniser/classifier input: height fixed, width from the aspect ratio
// (ceil) capped at `width`, (x/255 - 0.5)/0.5, zero padding on the right.
// `interpolation` is PaddleOCR's linear for the classifier; the recogniser defaults to
// Lanczos because linear upscaling of ~20 px lines makes PP-OCRv4 drop the spaces
// between words; the texture Lanczos then reads as text scores under the default
// drop_score of 0.65 (docs/ocr.md, "Lost spaces").
void fill_line_input(const cv::Mat& crop, int height, int width, torch::Tensor slot,
                     int interpolation = cv::INTER_LINEAR) {
  double ratio = crop.cols / double(crop.rows);
  int resized_w = std::ceil(height * ratio) > width ? width : int(std::ceil(height * ratio));
  resized_w = std::max(1, resized_w);
  cv::Mat resized;
  cv::resize(crop, resized, cv::Size(resized_w, height), 0, 0, interpolation);
  Normalization norm;
  norm.rgb = false;
  norm.scale = 1.0 / 255.0;
  norm.mean = {0.5, 0.5, 0.5};
  norm.std = {0.5, 0.5, 0.5};
  slot.slice(2, 0, resized_w).copy_(images_to_tensor({resized}, norm)[0]);
}

}  // namespace

struct OcrEngine::Impl {
  std::unique_ptr<Model> det, cls, rec;
  Normalization det_norm;
  int limit_side_len = 960;
  bool limit_max = true;
  DbParams db;
  cv::Size cls_size{192, 48};
  float cls_threshold = 0.9f;
  int cls_batch = 6;
  std::vector<std::string> charset;
  int rec_height = 48, rec_min_width = 320, rec_batch = 6;
  int rec_interpolation = cv::INTER_CUBIC;
  float drop_score = 0.65f;
  float row_tolerance = 10;

  std::vector<DetectedBox> detect(const cv::Mat& image);
  void classify(std::vector<cv::Mat>& crops);
  std::vector<DecodedText> recognize(const std::vector<cv::Mat>& crops);
  void check_models(const std::string& det_path, const std::string& rec_path,
                    const std::string& cls_path);
};

OcrEngine::OcrEngine(const nlohmann::json& config) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  const auto& det = config["det"];
  const auto& cls = config["cls"];
  const auto& rec = config["rec"];
  d.det_norm.rgb = det["color"] == "rgb";
  d.det_norm.scale = 1.0 / 255.0;
  d.det_norm.mean = det["mean"].get<std::array<double, 3>>();
  d.det_norm.std = det["std"].get<std::array<double, 3>>();
  d.limit_side_len = det["limit_side_len"].get<int>();
  d.limit_max = det["limit_type"] == "max";
  d.db.threshold = det["threshold"].get<float>();
  d.db.box_threshold = det["box_threshold"].get<float>();
  d.db.unclip_ratio = det["unclip_ratio"].get<float>();
  d.db.max_candidates = det["max_candidates"].get<int>();
  d.db.min_size = det["min_size"].get<float>();
  d.cls_size = cv::Size(cls["input_size"][0].get<int>(), cls["input_size"][1].get<int>());
  d.cls_threshold = cls["threshold"].get<float>();
  d.cls_batch = cls["batch"].get<int>();
  d.charset =
      read_ocr_charset(rec["dictionary"].get<std::string>(), rec["use_space_char"].get<bool>());
  d.rec_height = rec["image_height"].get<int>();
  d.rec_min_width = rec["min_width"].get<int>();
  d.rec_batch = rec["batch"].get<int>();
  d.rec_interpolation = interpolation_flag(rec["interpolation"].get<std::string>());
  d.drop_score = rec["drop_score"].get<float>();
  d.row_tolerance = config["post"]["row_tolerance"].get<float>();

  d.det = load_model(det, config);
  d.rec = load_model(rec, config);
  if (cls["enabled"].get<bool>()) {
    if (cls["model"].is_null())
      throw Error(ErrorKind::Config, "cls.model: required when cls.enabled is true");
    d.cls = load_model(cls, config);
  }
  int warmup = std::max(1, config["runtime"]["warmup"].get<int>());
  for (int i = 0; i < warmup; ++i)
    d.check_models(det["model"].get<std::string>(), rec["model"].get<std::string>(),
                   d.cls ? cls["model"].get<std::string>() : "");
}

OcrEngine::~OcrEngine() = default;
OcrEngine::OcrEngine(OcrEngine&&) noexcept = default;

void OcrEngine::Impl::check_models(const std::string& det_path, const std::string& rec_path,
                                   const std::string& cls_path) {
  // Blank inputs: a model whose outputs do not fit fails here, before any image is read.
  torch::Tensor p = single_output(*det, torch::zeros({1, 3, 64, 96}));
  if (p.dim() != 4 || p.size(0) != 1 || p.size(1) != 1 || p.size(2) != 64 || p.size(3) != 96)
    throw Error(ErrorKind::Model,
                det_path +
                    ": db_text expects a 1x1x64x96 probability map for a 1x3x64x96 input, got " +
                    describe_shape(p));
  torch::Tensor r = single_output(*rec, torch::zeros({1, 3, rec_height, rec_min_width}));
  if (r.dim() != 3 || r.size(0) != 1 || r.size(2) != int64_t(charset.size()) + 1)
    throw Error(ErrorKind::Model, rec_path + ": ctc_text expects 1xTx" +
                                      std::to_string(charset.size() + 1) + " (blank + dictionary" +
                                      std::string(charset.back() == " " ? " + space" : "") +
                                      "), got " + describe_shape(r));
  if (cls) {
    torch::Tensor c = single_output(*cls, torch::zeros({1, 3, cls_size.height, cls_size.width}));
    if (c.dim() != 2 || c.size(0) != 1 || c.size(1) != 2)
      throw Error(ErrorKind::Model,
                  cls_path + ": the angle classifier should output 1x2, got " + describe_shape(c));
  }
}

std::vector<DetectedBox> OcrEngine::Impl::detect(const cv::Mat& image) {
  cv::Size size = db_input_size(image.size(), limit_side_len, limit_max);
  cv::Mat resized;
  cv::resize(image, resized, size);
  torch::Tensor prob = single_output(*det, images_to_tensor({resized}, det_norm));
  if (prob.dim() != 4 || prob.size(2) != size.height || prob.size(3) != size.width)
    throw Error(ErrorKind::Model, det->path().string() + ": probability map " +
                                      describe_shape(prob) + " does not match the input size");
  cv::Mat map(size.height, size.width, CV_32F, prob.data_ptr<float>());
  return db_boxes(map, image.size(), db);
}

void OcrEngine::Impl::classify(std::vector<cv::Mat>& crops) {
  for (std::size_t begin = 0; begin < crops.size(); begin += cls_batch) {
    std::size_t end = std::min(crops.size(), begin + cls_batch);
    torch::Tensor batch = torch::zeros({int64_t(end - begin), 3, cls_size.height, cls_size.width});
    for (std::size_t i = begin; i < end; ++i)
      fill_line_input(crops[i], cls_size.height, cls_size.width, batch[i - begin]);
    torch::Tensor probs = single_output(*cls, batch);
    for (std::size_t i = begin; i < end; ++i) {
      float p180 = probs[i - begin][1].item<float>();
      if (p180 > probs[i - begin][0].item<float>() && p180 > cls_threshold)
        cv::rotate(crops[i], crops[i], cv::ROTATE_180);
    }
  }
}

std::vector<DecodedText> OcrEngine::Impl::recognize(const std::vector<cv::Mat>& crops) {
  // Lines sorted by aspect ratio so each batch pads little.
  std::vector<std::size_t> order(crops.size());
  std::iota(order.begin(), order.end(), 0);
  auto ratio = [&](std::size_t i) { return crops[i].cols / double(crops[i].rows); };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ratio(a) < ratio(b); });
  std::vector<DecodedText> out(crops.size());
  for (std::size_t begin = 0; begin < order.size(); begin += rec_batch) {
    std::size_t end = std::min(order.size(), begin + rec_batch);
    double max_ratio = rec_min_width / double(rec_height);
    for (std::size_t k = begin; k < end; ++k) max_ratio = std::max(max_ratio, ratio(order[k]));
    int width = int(rec_height * max_ratio);
    torch::Tensor batch = torch::zeros({int64_t(end - begin), 3, rec_height, width});
    for (std::size_t k = begin; k < end; ++k)
      fill_line_input(crops[order[k]], rec_height, width, batch[k - begin], rec_interpolation);
    torch::Tensor probs = single_output(*rec, batch);
    if (probs.dim() != 3 || probs.size(0) != int64_t(end - begin) ||
        probs.size(2) != int64_t(charset.size()) + 1)
      throw Error(ErrorKind::Model,
                  rec->path().string() + ": unexpected output " + describe_shape(probs));
    for (std::size_t k = begin; k < end; ++k)
      out[order[k]] = ctc_greedy_decode(probs[k - begin].data_ptr<float>(), int(probs.size(1)),
                                        int(probs.size(2)), charset);
  }
  return out;
}

OcrResult OcrEngine::run(const cv::Mat& image, OcrTimings* timings) {
  Impl& d = *impl_;
  if (image.empty() || image.type() != CV_8UC3)
    throw Error(ErrorKind::Internal, "OcrEngine::run expects 8-bit BGR");
  auto t0 = Clock::now();
  std::vector<DetectedBox> boxes = d.detect(image);
  std::vector<TextLine> lines(boxes.size());
  for (std::size_t i = 0; i < boxes.size(); ++i) lines[i].polygon = boxes[i].quad;
  // Recognition runs in reading order, as PaddleOCR does (it only matters for ties).
  sort_reading_order(lines, d.row_tolerance);
  std::vector<cv::Mat> crops;
  for (const auto& l : lines) crops.push_back(crop_text_region(image, l.polygon));
  if (timings) timings->detect_ms += ms_since(t0);
  auto t1 = Clock::now();
  if (d.cls && !crops.empty()) d.classify(crops);
  if (timings) timings->classify_ms += ms_since(t1);
  auto t2 = Clock::now();
  std::vector<DecodedText> texts = crops.empty() ? std::vector<DecodedText>{} : d.recognize(crops);
  OcrResult result;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (texts[i].score < d.drop_score) continue;
    lines[i].text = texts[i].text;
    lines[i].score = texts[i].score;
    result.lines.push_back(lines[i]);
  }
  result.text = join_lines(result.lines, d.row_tolerance);
  if (timings) timings->recognize_ms += ms_since(t2);
  return result;
}

}  // namespace cvtool
