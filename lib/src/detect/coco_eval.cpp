// COCO box evaluation following pycocotools' COCOeval (evaluateImg + accumulate +
// summarize) step for step, so that numbers agree with what papers report: same
// greedy matching order, same crowd handling, same 101-point interpolation.
#include "cvtool/detect/coco_eval.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <numeric>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

using Json = nlohmann::json;

constexpr int kThresholds = 10;  // IoU .50:.05:.95
constexpr int kRecallPoints = 101;

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

// Handles into the CocoGeometry.
struct GroundTruth {
  std::size_t geometry = 0;
  bool crowd = false;
};

struct Prediction {
  std::size_t geometry = 0;
  double score = 0;
};

// Per (image, category): what pycocotools' evaluateImg returns.
struct ImageClassEval {
  std::vector<double> scores;                          // detections kept, best first
  std::array<std::vector<char>, kThresholds> matched;  // per threshold, per detection
  std::array<std::vector<char>, kThresholds> ignored;  // matched a crowd box
  std::size_t ground_truth = 0;                        // non-crowd
};

// pycocotools uses np.linspace(.5, .95, 10): start + k * step, with the end exact.
std::array<double, kThresholds> iou_thresholds() {
  std::array<double, kThresholds> t{};
  const double step = (0.95 - 0.5) / (kThresholds - 1);
  for (int k = 0; k < kThresholds; ++k) t[k] = 0.5 + k * step;
  t[kThresholds - 1] = 0.95;
  return t;
}

// IoU of a detection with a ground truth box; for crowd boxes the union is the
// detection's own area (a detection inside a crowd region is not penalised).
double coco_iou(const Box& d, const Box& g, bool crowd) {
  double iw = std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x);
  double ih = std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y);
  if (iw <= 0 || ih <= 0) return 0;
  double inter = iw * ih;
  double uni = crowd ? d.w * d.h : d.w * d.h + g.w * g.h - inter;
  return uni > 0 ? inter / uni : 0;
}

std::string where(const char* doc, const char* list, std::size_t i) {
  return std::string(doc) + ": " + list + "[" + std::to_string(i) + "]";
}

Box read_box(const Json& entry, const std::string& at) {
  const Json* b = entry.contains("bbox") ? &entry["bbox"] : nullptr;
  if (!b || !b->is_array() || b->size() != 4 ||
      !std::all_of(b->begin(), b->end(), [](const Json& v) { return v.is_number(); }))
    throw Error(ErrorKind::Config, at + ".bbox: expected [x, y, width, height]");
  return {(*b)[0].get<double>(), (*b)[1].get<double>(), (*b)[2].get<double>(),
          (*b)[3].get<double>()};
}

const Json& require_array(const Json& doc, const char* key, const char* what) {
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_array())
    throw Error(ErrorKind::Config,
                std::string(what) + ": expected a COCO document with a '" + key + "' array");
  return doc[key];
}

// iouType "bbox".
class BoxGeometry : public CocoGeometry {
 public:
  std::size_t add(const Json& entry, const Json&, const std::string& at) override {
    boxes_.push_back(read_box(entry, at));
    return boxes_.size() - 1;
  }
  double iou(std::size_t d, std::size_t g, bool crowd) const override { return coco_iou(boxes_[d], boxes_[g], crowd); }

 private:
  std::vector<Box> boxes_;
};

ImageClassEval evaluate_image_class(std::vector<GroundTruth> gts, std::vector<Prediction> dts,
                                    int max_detections, const CocoGeometry& geometry) {
  // Non-crowd boxes first: a detection prefers them over crowd regions.
  std::stable_sort(gts.begin(), gts.end(),
                   [](const GroundTruth& a, const GroundTruth& b) { return !a.crowd && b.crowd; });
  std::stable_sort(dts.begin(), dts.end(),
                   [](const Prediction& a, const Prediction& b) { return a.score > b.score; });
  if (int(dts.size()) > max_detections) dts.resize(max_detections);

  ImageClassEval e;
  for (const auto& g : gts) e.ground_truth += g.crowd ? 0 : 1;
  for (const auto& d : dts) e.scores.push_back(d.score);
  std::vector<std::vector<double>> ious(dts.size(), std::vector<double>(gts.size()));
  for (std::size_t d = 0; d < dts.size(); ++d)
    for (std::size_t g = 0; g < gts.size(); ++g)
      ious[d][g] = geometry.iou(dts[d].geometry, gts[g].geometry, gts[g].crowd);

  const auto thresholds = iou_thresholds();
  for (int t = 0; t < kThresholds; ++t) {
    e.matched[t].assign(dts.size(), 0);
    e.ignored[t].assign(dts.size(), 0);
    std::vector<char> gt_taken(gts.size(), 0);
    for (std::size_t d = 0; d < dts.size(); ++d) {
      double best = std::min(thresholds[t], 1 - 1e-10);
      int m = -1;
      for (std::size_t g = 0; g < gts.size(); ++g) {
        if (gt_taken[g] && !gts[g].crowd) continue;
        // Already matched a real box and only crowd regions remain: stop.
        if (m > -1 && !gts[m].crowd && gts[g].crowd) break;
        if (ious[d][g] < best) continue;
        best = ious[d][g];
        m = int(g);
      }
      if (m == -1) continue;
      e.matched[t][d] = 1;
      e.ignored[t][d] = gts[m].crowd;
      gt_taken[m] = 1;
    }
  }
  return e;
}

}  // namespace

double interpolated_average_precision(const std::vector<bool>& true_positive,
                                      std::size_t ground_truth) {
  if (ground_truth == 0) return -1;
  const std::size_t n = true_positive.size();
  std::vector<double> recall(n), precision(n);
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    (true_positive[i] ? tp : fp) += 1;
    recall[i] = tp / double(ground_truth);
    precision[i] = tp / (tp + fp + 2.220446049250313e-16);  // np.spacing(1), as pycocotools
  }
  // The precision envelope: the best precision at this recall or any higher one.
  for (std::size_t i = n; i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
  double sum = 0;
  for (int k = 0; k < kRecallPoints; ++k) {
    double r = k == kRecallPoints - 1 ? 1.0 : k * (1.0 / (kRecallPoints - 1));
    auto it = std::lower_bound(recall.begin(), recall.end(), r);  // np.searchsorted(side="left")
    if (it != recall.end()) sum += precision[std::size_t(it - recall.begin())];
  }
  return sum / kRecallPoints;
}

CocoEvalResult evaluate_coco_detections(const Json& ground_truth, const Json& predictions,
                                        const CocoEvalOptions& options) {
  BoxGeometry boxes;
  return evaluate_coco(ground_truth, predictions, boxes, options);
}

CocoEvalResult evaluate_coco(const Json& ground_truth, const Json& predictions, CocoGeometry& geometry,
                             const CocoEvalOptions& options) {
  const Json& images = require_array(ground_truth, "images", "ground truth");
  const Json& annotations = require_array(ground_truth, "annotations", "ground truth");
  const Json& categories = require_array(ground_truth, "categories", "ground truth");
  if (!predictions.is_array())
    throw Error(ErrorKind::Config, "predictions: expected a COCO results array");

  CocoEvalResult result;
  // Images in id order, as pycocotools sorts imgIds; ties across images in the final
  // ranking are broken in this order.
  std::vector<std::pair<Json, std::size_t>> image_ids;  // id, position in `images`
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (!images[i].is_object() || !images[i].contains("id"))
      throw Error(ErrorKind::Config, where("ground truth", "images", i) + ": no 'id'");
    image_ids.emplace_back(images[i]["id"], i);
  }
  std::sort(image_ids.begin(), image_ids.end());
  std::map<Json, std::size_t> image_index, image_by_stem;
  for (std::size_t k = 0; k < image_ids.size(); ++k) {
    if (!image_index.emplace(image_ids[k].first, k).second)
      throw Error(ErrorKind::Config,
                  "ground truth: image id " + image_ids[k].first.dump() + " appears twice");
    const Json& image = images[image_ids[k].second];
    if (image.contains("file_name") && image["file_name"].is_string())
      image_by_stem.emplace(
          Json(std::filesystem::path(image["file_name"].get<std::string>()).stem().string()), k);
  }
  result.images = image_ids.size();

  std::map<int, std::size_t> class_index;  // category id -> position in result.classes
  std::vector<std::pair<int, std::string>> cats;
  for (std::size_t i = 0; i < categories.size(); ++i) {
    if (!categories[i].is_object() || !categories[i].contains("id") ||
        !categories[i]["id"].is_number_integer())
      throw Error(ErrorKind::Config, where("ground truth", "categories", i) + ": no integer 'id'");
    const Json& category = categories[i];
    if (category.contains("name") && !category["name"].is_string())
      throw Error(ErrorKind::Config, where("ground truth", "categories", i) + ".name: expected a string");
    cats.emplace_back(category["id"].get<int>(), category.value("name", std::string()));
  }
  std::sort(cats.begin(), cats.end());
  for (const auto& [id, name] : cats) {
    if (!class_index.emplace(id, result.classes.size()).second)
      throw Error(ErrorKind::Config,
                  "ground truth: category id " + std::to_string(id) + " appears twice");
    CocoClassResult c;
    c.category_id = id;
    c.name = name;
    result.classes.push_back(c);
  }
  std::map<std::string, int> category_by_name;
  for (const auto& [id, name] : cats) category_by_name.emplace(name, id);

  const std::size_t n_images = image_ids.size(), n_classes = result.classes.size();
  std::vector<std::vector<GroundTruth>> gts(n_images * n_classes);
  std::vector<std::vector<Prediction>> dts(n_images * n_classes);

  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const Json& a = annotations[i];
    std::string at = where("ground truth", "annotations", i);
    if (!a.is_object() || !a.contains("image_id") || !a.contains("category_id"))
      throw Error(ErrorKind::Config, at + ": needs image_id, category_id and bbox");
    auto img = image_index.find(a["image_id"]);
    if (img == image_index.end())
      throw Error(ErrorKind::Config,
                  at + ": image_id " + a["image_id"].dump() + " is not in images");
    auto cls = a["category_id"].is_number_integer() ? class_index.find(a["category_id"].get<int>())
                                                    : class_index.end();
    if (cls == class_index.end())
      throw Error(ErrorKind::Config,
                  at + ": category_id " + a["category_id"].dump() + " is not in categories");
    GroundTruth g;
    g.geometry = geometry.add(a, images[image_ids[img->second].second], at);
    g.crowd = a.contains("iscrowd") && a["iscrowd"].is_number() && a["iscrowd"].get<double>() != 0;
    gts[img->second * n_classes + cls->second].push_back(g);
    if (!g.crowd) {
      ++result.classes[cls->second].ground_truth;
      ++result.ground_truth;
    }
  }

  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const Json& p = predictions[i];
    std::string at = "predictions[" + std::to_string(i) + "]";
    if (!p.is_object() || !p.contains("image_id") || !p.contains("category_id") ||
        !p.contains("score") || !p["score"].is_number())
      throw Error(ErrorKind::Config, at + ": needs image_id, category_id, bbox and score");
    Prediction d;
    d.score = p["score"].get<double>();
    ++result.predictions;
    std::size_t image;
    if (auto by_id = image_index.find(p["image_id"]); by_id != image_index.end()) {
      image = by_id->second;
    } else if (auto by_stem = image_by_stem.find(p["image_id"]);
               p["image_id"].is_string() && by_stem != image_by_stem.end()) {
      image = by_stem->second;
    } else {
      ++result.unmatched_image_predictions;
      continue;
    }
    if (!p["category_id"].is_number_integer())
      throw Error(ErrorKind::Config, at + ".category_id: expected an integer");
    int category = p["category_id"].get<int>();
    if (!options.labels.empty()) {
      auto name = category >= 0 && category < int(options.labels.size())
                      ? category_by_name.find(options.labels[category])
                      : category_by_name.end();
      category = name == category_by_name.end() ? -1 : name->second;
    }
    auto cls = class_index.find(category);
    if (cls == class_index.end()) {
      ++result.unknown_class_predictions;
      continue;
    }
    d.geometry = geometry.add(p, images[image_ids[image].second], at);
    ++result.classes[cls->second].detections;
    dts[image * n_classes + cls->second].push_back(d);
  }

  std::vector<double> ap_sum(kThresholds, 0.0);
  std::size_t evaluated = 0;
  for (std::size_t c = 0; c < n_classes; ++c) {
    CocoClassResult& cr = result.classes[c];
    // Concatenate the per-image results in image order, then rank by score; the
    // stable sort keeps pycocotools' order among equal scores.
    std::vector<double> scores;
    std::array<std::vector<char>, kThresholds> matched, ignored;
    for (std::size_t img = 0; img < n_images; ++img) {
      auto& g = gts[img * n_classes + c];
      auto& d = dts[img * n_classes + c];
      if (g.empty() && d.empty()) continue;
      ImageClassEval e = evaluate_image_class(std::move(g), std::move(d), options.max_detections, geometry);
      scores.insert(scores.end(), e.scores.begin(), e.scores.end());
      for (int t = 0; t < kThresholds; ++t) {
        matched[t].insert(matched[t].end(), e.matched[t].begin(), e.matched[t].end());
        ignored[t].insert(ignored[t].end(), e.ignored[t].begin(), e.ignored[t].end());
      }
    }
    if (cr.ground_truth == 0) continue;
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    std::array<double, kThresholds> ap{};
    for (int t = 0; t < kThresholds; ++t) {
      std::vector<bool> tp;  // detections matched to crowd regions are left out
      for (std::size_t i : order)
        if (!ignored[t][i]) tp.push_back(matched[t][i]);
      ap[t] = interpolated_average_precision(tp, cr.ground_truth);
      ap_sum[t] += ap[t];
    }
    cr.ap = std::accumulate(ap.begin(), ap.end(), 0.0) / kThresholds;
    cr.ap50 = ap[0];
    cr.ap75 = ap[5];
    ++evaluated;
  }
  if (evaluated) {
    result.map =
        std::accumulate(ap_sum.begin(), ap_sum.end(), 0.0) / (kThresholds * double(evaluated));
    result.map50 = ap_sum[0] / double(evaluated);
    result.map75 = ap_sum[5] / double(evaluated);
  }
  return result;
}

}  // namespace cvtool
