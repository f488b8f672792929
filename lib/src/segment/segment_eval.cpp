#include "cvtool/segment/segment_eval.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <opencv2/imgcodecs.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/segment/rle.hpp"

namespace cvtool {

namespace fs = std::filesystem;

void LabelMapScorer::add(const cv::Mat& gt, const cv::Mat& pred, const std::string& what) {
  if (gt.type() != CV_8UC1 || pred.type() != CV_8UC1)
    throw Error(ErrorKind::Config, what + ": label maps must be 8-bit single channel");
  if (gt.size() != pred.size())
    throw Error(ErrorKind::Config, what + ": ground truth is " + std::to_string(gt.cols) + "x" +
                                       std::to_string(gt.rows) + ", prediction " + std::to_string(pred.cols) + "x" +
                                       std::to_string(pred.rows));
  for (int y = 0; y < gt.rows; ++y) {
    const unsigned char* g = gt.ptr<unsigned char>(y);
    const unsigned char* p = pred.ptr<unsigned char>(y);
    for (int x = 0; x < gt.cols; ++x)
      if (g[x] != ignore_) ++confusion_[std::size_t(g[x]) * 256 + p[x]];
  }
  ++images_;
}

LabelMapEvalResult LabelMapScorer::result(const std::vector<std::string>& names) const {
  LabelMapEvalResult r;
  r.images = images_;
  std::vector<std::uint64_t> gt(256, 0), pred(256, 0);
  std::uint64_t correct = 0;
  for (int g = 0; g < 256; ++g)
    for (int p = 0; p < 256; ++p) {
      std::uint64_t n = confusion_[std::size_t(g) * 256 + p];
      gt[g] += n;
      pred[p] += n;
      if (g == p) correct += n;
      r.pixels += n;
    }
  double sum = 0;
  int scored = 0;
  for (int c = 0; c < 256; ++c) {
    if (c == ignore_) continue;
    if (c >= int(names.size()) && gt[c] == 0 && pred[c] == 0) continue;
    ClassIou ci;
    ci.class_id = c;
    ci.name = c < int(names.size()) ? names[c] : "class_" + std::to_string(c);
    ci.intersection = confusion_[std::size_t(c) * 256 + c];
    ci.ground_truth = gt[c];
    ci.predicted = pred[c];
    ci.union_pixels = gt[c] + pred[c] - ci.intersection;
    if (ci.union_pixels) {
      ci.iou = double(ci.intersection) / double(ci.union_pixels);
      sum += ci.iou;
      ++scored;
    }
    r.classes.push_back(ci);
  }
  if (scored) r.mean_iou = sum / scored;
  if (r.pixels) r.pixel_accuracy = double(correct) / double(r.pixels);
  return r;
}

namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

// The indices of an 8-bit, non-interlaced palette PNG; empty when the file is
// another kind of PNG.
cv::Mat palette_png_indices(const std::string& bytes, const std::string& path) {
  static const char signature[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 33 || bytes.compare(0, 8, signature, 8) != 0) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::uint32_t width = be32(b + 16), height = be32(b + 20);
  const int depth = b[24], colour = b[25], interlace = b[28];
  if (colour != 3) return {};
  if (depth != 8 || interlace != 0)
    throw Error(ErrorKind::Config, path + ": palette PNGs must be 8-bit and not interlaced to be read as label maps");
  if (width == 0 || height == 0 || width > 65535 || height > 65535) throw Error(ErrorKind::Config, path + ": bad PNG size");
  std::string idat;
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    std::uint32_t length = be32(b + at);
    if (at + 12 + length > bytes.size()) throw Error(ErrorKind::Config, path + ": truncated PNG");
    if (bytes.compare(at + 4, 4, "IDAT") == 0) idat.append(bytes, at + 8, length);
    if (bytes.compare(at + 4, 4, "IEND") == 0) break;
    at += 12 + length;
  }
  const std::size_t stride = width + 1;  // filter byte + one index per pixel
  std::string raw(stride * height, '\0');
  uLongf raw_size = uLongf(raw.size());
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size, reinterpret_cast<const Bytef*>(idat.data()),
                 uLong(idat.size())) != Z_OK ||
      raw_size != raw.size())
    throw Error(ErrorKind::Config, path + ": corrupt PNG image data");
  cv::Mat out(int(height), int(width), CV_8U);
  for (std::uint32_t y = 0; y < height; ++y) {
    const auto* line = reinterpret_cast<const unsigned char*>(raw.data()) + y * stride;
    unsigned char* row = out.ptr<unsigned char>(int(y));
    const unsigned char* up = y ? out.ptr<unsigned char>(int(y) - 1) : nullptr;
    for (std::uint32_t x = 0; x < width; ++x) {
      int a = x ? row[x - 1] : 0, u = up ? up[x] : 0, c = (x && up) ? up[x - 1] : 0;
      int v = line[1 + x];
      switch (line[0]) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += u; break;
        case 3: v += (a + u) / 2; break;
        case 4: {
          int p = a + u - c, pa = std::abs(p - a), pb = std::abs(p - u), pc = std::abs(p - c);
          v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? u : c);
          break;
        }
        default: throw Error(ErrorKind::Config, path + ": corrupt PNG (filter type)");
      }
      row[x] = (unsigned char)v;
    }
  }
  return out;
}

}  // namespace

cv::Mat read_label_map(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Config, path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  cv::Mat indices = palette_png_indices(bytes, path);
  if (!indices.empty()) return indices;
  cv::Mat image = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, bytes.data()), cv::IMREAD_UNCHANGED);
  if (image.empty()) throw Error(ErrorKind::Config, path + ": not an image");
  if (image.type() == CV_8UC1) return image;
  if (image.type() == CV_8UC3) {
    cv::Mat ch[3];
    cv::split(image, ch);
    if (cv::countNonZero(ch[0] != ch[1]) == 0 && cv::countNonZero(ch[0] != ch[2]) == 0) return ch[0];
  }
  throw Error(ErrorKind::Config, path + ": not a label map (expected a palette or 8-bit grey PNG)");
}

LabelMapEvalResult evaluate_label_map_folders(const std::string& gt_dir, const std::string& pred_dir,
                                              int ignore_index, const std::vector<std::string>& names) {
  auto pngs = [](const std::string& dir, const char* what) {
    std::map<std::string, fs::path> by_stem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(ErrorKind::Usage, std::string(what) + " " + dir + ": not a folder");
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".png") by_stem.emplace(e.path().stem().string(), e.path());
    return by_stem;
  };
  auto gts = pngs(gt_dir, "ground truth"), preds = pngs(pred_dir, "predictions");
  if (gts.empty()) throw Error(ErrorKind::Config, "ground truth " + gt_dir + ": no .png label maps");
  LabelMapScorer scorer(ignore_index);
  for (const auto& [stem, gt] : gts) {
    auto p = preds.find(stem);
    if (p == preds.end())
      throw Error(ErrorKind::Config, "no prediction " + (fs::path(pred_dir) / (stem + ".png")).string() +
                                         " for ground truth " + gt.string());
    scorer.add(read_label_map(gt.string()), read_label_map(p->second.string()), p->second.string());
  }
  LabelMapEvalResult r = scorer.result(names);
  for (const auto& [stem, path] : preds) r.unmatched_predictions += gts.count(stem) ? 0 : 1;
  return r;
}

namespace {

// iouType "segm": RLE masks, IoU as pycocotools' rleIou.
class MaskGeometry : public CocoGeometry {
 public:
  std::size_t add(const nlohmann::json& entry, const nlohmann::json& image, const std::string& at) override {
    if (!entry.contains("segmentation")) throw Error(ErrorKind::Config, at + ": no 'segmentation'");
    if (!image.contains("height") || !image.contains("width") || !image["height"].is_number_integer() ||
        !image["width"].is_number_integer())
      throw Error(ErrorKind::Config, at + ": its ground truth image has no integer width and height");
    masks_.push_back(rle_from_json(entry["segmentation"], image["height"].get<int>(), image["width"].get<int>(), at));
    areas_.push_back(rle_area(masks_.back()));
    return masks_.size() - 1;
  }

  double iou(std::size_t d, std::size_t g, bool crowd) const override {
    const double inter = double(rle_intersection(masks_[d], masks_[g]));
    const double uni = crowd ? double(areas_[d]) : double(areas_[d]) + double(areas_[g]) - inter;
    return uni > 0 ? inter / uni : 0;
  }

 private:
  std::vector<CocoRle> masks_;
  std::vector<std::uint64_t> areas_;
};

}  // namespace

CocoEvalResult evaluate_coco_masks(const nlohmann::json& ground_truth, const nlohmann::json& predictions,
                                   const CocoEvalOptions& options) {
  MaskGeometry masks;
  return evaluate_coco(ground_truth, predictions, masks, options);
}

}  // namespace cvtool
