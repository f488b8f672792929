// `cvtool eval TASK`: scores a task's predictions against ground truth. Each task is
// one sibling subcommand with its own metric (`eval detect`: COCO box mAP); adding
// `eval ocr` or `eval track` is one more row in eval_tasks().
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/detect/coco_eval.hpp"
#include "cvtool/detect/detector.hpp"
#include "cvtool/ocr/ocr_metrics.hpp"
#include "cvtool/segment/segment_eval.hpp"
#include "cvtool/track/mot_metrics.hpp"

namespace cvtool::cli {

namespace {

struct EvalOutput {
  bool jsonl = false;
  bool quiet = false;
};

Json read_json_document(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::Usage, what + " " + path + ": cannot open");
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::Config, what + " " + path + ": malformed JSON: " + e.what());
  }
}

// -1 (no ground truth) becomes null in JSON and "-" in the table.
Json metric(double v) { return v < 0 ? Json(nullptr) : Json(std::round(v * 1e6) / 1e6); }

std::string cell(double v) {
  char buf[16];
  if (v < 0) return "      -";
  std::snprintf(buf, sizeof buf, "%7.4f", v);
  return buf;
}

// ---------------------------------------------------------------- eval detect

struct EvalDetectOptions {
  std::string ground_truth, predictions, labels;
  int max_detections = 100;
};

void print_detect_table(const CocoEvalResult& r) {
  std::printf("%-24s %6s %7s %7s %7s %7s %7s\n", "class", "id", "gt", "dets", "AP", "AP50", "AP75");
  for (const auto& c : r.classes) {
    if (c.ground_truth == 0 && c.detections == 0)
      continue;  // COCO lists 80 of 90 ids: keep the table to what was seen
    std::printf("%-24.24s %6d %7zu %7zu %s %s %s\n", c.name.c_str(), c.category_id, c.ground_truth,
                c.detections, cell(c.ap).c_str(), cell(c.ap50).c_str(), cell(c.ap75).c_str());
  }
  std::printf("%-24s %6s %7zu %7zu %s %s %s\n", "all", "", r.ground_truth, r.predictions,
              cell(r.map).c_str(), cell(r.map50).c_str(), cell(r.map75).c_str());
  std::printf("mAP@[.5:.95] %s   mAP@.5 %s   mAP@.75 %s   (%zu images)\n", cell(r.map).c_str(),
              cell(r.map50).c_str(), cell(r.map75).c_str(), r.images);
}

// COCO AP per class and the summary: JSONL records (box or mask AP alike) or the table.
void print_coco_result(const CocoEvalResult& r, const std::string& task, bool jsonl) {
  if (jsonl) {
    JsonlWriter writer(std::cout);
    for (const auto& c : r.classes) {
      if (c.ground_truth == 0 && c.detections == 0) continue;
      writer.write({{"task", task},
                    {"category_id", c.category_id},
                    {"name", c.name},
                    {"ground_truth", c.ground_truth},
                    {"detections", c.detections},
                    {"ap", metric(c.ap)},
                    {"ap50", metric(c.ap50)},
                    {"ap75", metric(c.ap75)}});
    }
    writer.write({{"task", task},
                  {"summary", true},
                  {"map", metric(r.map)},
                  {"map50", metric(r.map50)},
                  {"map75", metric(r.map75)},
                  {"images", r.images},
                  {"ground_truth", r.ground_truth},
                  {"predictions", r.predictions},
                  {"ignored_unknown_image", r.unmatched_image_predictions},
                  {"ignored_unknown_class", r.unknown_class_predictions}});
  } else {
    print_detect_table(r);
  }
}

int run_eval_detect(const EvalDetectOptions& opts, const EvalOutput& out) {
  CocoEvalOptions options;
  options.max_detections = opts.max_detections;
  if (!opts.labels.empty()) options.labels = read_labels(opts.labels);
  Json gt = read_json_document(opts.ground_truth, "ground truth");
  Json pred = read_json_document(opts.predictions, "predictions");
  CocoEvalResult r = evaluate_coco_detections(gt, pred, options);

  if (r.unmatched_image_predictions)
    spdlog::warn("{} of {} predictions are on images not in the ground truth: ignored",
                 r.unmatched_image_predictions, r.predictions);
  if (r.unknown_class_predictions)
    spdlog::warn("{} predictions have a category that is not in the ground truth{}: ignored",
                 r.unknown_class_predictions,
                 options.labels.empty()
                     ? " (predictions from `cvtool detect` use class indices: pass --labels)"
                     : "");
  if (r.map < 0) spdlog::warn("no ground truth box: nothing to score");

  print_coco_result(r, "detect", out.jsonl);
  return kExitOk;
}

std::function<int()> setup_eval_detect(CLI::App* cmd, std::shared_ptr<EvalOutput> out) {
  auto opts = std::make_shared<EvalDetectOptions>();
  cmd->add_option("--gt", opts->ground_truth,
                  "Ground truth: COCO instances JSON (images, annotations, categories)")
      ->required();
  cmd->add_option("--pred", opts->predictions,
                  "Predictions: COCO results JSON (e.g. predictions.coco.json of cvtool detect -o)")
      ->required();
  cmd->add_option("--labels", opts->labels,
                  "The detector's labels file: prediction category_id i is the class named on line "
                  "i (as cvtool detect "
                  "writes them); without it category ids must be the ground truth's");
  cmd->add_option("--max-dets", opts->max_detections,
                  "Detections per image and class that are ranked (COCO: 100)")
      ->check(CLI::PositiveNumber);
  cmd->footer(
      "\nCOCO box metrics as pycocotools computes them: AP averaged over IoU .50:.05:.95 with "
      "101-point\n"
      "interpolation, area all, crowd boxes ignored.\n\n"
      "Example:\n"
      "  cvtool detect val2017/ -o out/\n"
      "  cvtool eval detect --gt instances_val2017.json --pred out/predictions.coco.json --labels "
      "models/coco80.txt\n");
  return [opts, out] { return run_eval_detect(*opts, *out); };
}

// ---------------------------------------------------------------- eval track

struct EvalTrackOptions {
  std::string ground_truth, predictions;
  double iou = 0.5;
};

int run_eval_track(const EvalTrackOptions& opts, const EvalOutput& out) {
  MotMetrics m = evaluate_mot(read_mot(opts.ground_truth), read_mot(opts.predictions), opts.iou);
  Json record = to_json(m);
  if (out.jsonl) {
    record["task"] = "track";
    JsonlWriter(std::cout).write(record);
    return kExitOk;
  }
  std::printf("MOTA %7.4f   IDF1 %7.4f   MOTP(IoU) %7.4f   IDP %7.4f   IDR %7.4f\n", m.mota, m.idf1, m.motp, m.idp,
              m.idr);
  std::printf("frames %d   gt boxes %d   predicted %d   matched %d   false positives %d   misses %d\n", m.num_frames,
              m.num_gt, m.num_pred, m.matches, m.false_positives, m.misses);
  std::printf("ID switches %d   fragmentations %d   gt tracks %d: mostly tracked %d, partly %d, mostly lost %d\n",
              m.id_switches, m.fragmentations, m.gt_tracks, m.mostly_tracked, m.partially_tracked, m.mostly_lost);
  return kExitOk;
}

std::function<int()> setup_eval_track(CLI::App* cmd, std::shared_ptr<EvalOutput> out) {
  auto opts = std::make_shared<EvalTrackOptions>();
  cmd->add_option("--gt", opts->ground_truth, "Ground truth: MOTChallenge gt.txt")->required();
  cmd->add_option("--pred", opts->predictions, "Predictions: MOTChallenge txt (e.g. <name>.mot.txt of cvtool track -o)")
      ->required();
  cmd->add_option("--iou", opts->iou, "IoU a match needs (MOTChallenge: 0.5)")->check(CLI::Range(0.0, 1.0));
  cmd->footer(
      "\nCLEAR MOT (MOTA, MOTP, ID switches, fragmentations, MT/PT/ML) and identity metrics (IDF1, IDP, IDR).\n\n"
      "Example:\n"
      "  cvtool track MOT17-04.mp4 -o out/\n"
      "  cvtool eval track --gt MOT17-04/gt/gt.txt --pred out/MOT17-04.mot.txt\n");
  return [opts, out] { return run_eval_track(*opts, *out); };
}

// ---------------------------------------------------------------- eval ocr

struct EvalOcrOptions {
  std::string ground_truth, predictions;
  bool ignore_case = false;
};

int run_eval_ocr(const EvalOcrOptions& opts, const EvalOutput& out) {
  OcrNormalization norm;
  norm.ignore_case = opts.ignore_case;
  // Ground truth first, so a missing --gt is the error reported.
  std::vector<Json> ground_truth = read_jsonl(opts.ground_truth, "ground truth");
  OcrEvalResult r = evaluate_ocr(ground_truth, read_jsonl(opts.predictions, "predictions"), norm);
  std::size_t missing = 0;
  for (const auto& image : r.images) missing += image.predicted ? 0 : 1;
  if (missing)
    spdlog::warn("{} of {} ground truth images have no prediction: scored as empty", missing,
                 r.images.size());
  if (r.unmatched_predictions)
    spdlog::warn("{} prediction records match no ground truth source: ignored",
                 r.unmatched_predictions);

  if (out.jsonl) {
    JsonlWriter writer(std::cout);
    for (const auto& image : r.images) {
      const auto& s = image.score;
      writer.write({{"task", "ocr"},
                    {"source", image.source},
                    {"predicted", image.predicted},
                    {"char_edits", s.char_edits},
                    {"gt_chars", s.gt_chars},
                    {"word_edits", s.word_edits},
                    {"gt_words", s.gt_words},
                    {"words_found", s.words_found}});
    }
    writer.write({{"task", "ocr"},
                  {"summary", true},
                  {"cer", metric(r.cer)},
                  {"wer", metric(r.wer)},
                  {"word_recall", metric(r.word_recall)},
                  {"images", r.images.size()},
                  {"char_edits", r.total.char_edits},
                  {"gt_chars", r.total.gt_chars},
                  {"word_edits", r.total.word_edits},
                  {"gt_words", r.total.gt_words},
                  {"words_found", r.total.words_found},
                  {"missing_predictions", missing},
                  {"ignored_unknown_image", r.unmatched_predictions}});
    return kExitOk;
  }
  std::printf("%-40s %7s %7s %7s %7s %7s\n", "source", "chars", "edits", "CER", "words", "found");
  for (const auto& image : r.images) {
    const auto& s = image.score;
    std::string name = image.source.size() > 40 ? "..." + image.source.substr(image.source.size() - 37)
                                                : image.source;
    std::printf("%-40s %7zu %7zu %s %7zu %7zu\n", name.c_str(), s.gt_chars, s.char_edits,
                cell(s.gt_chars ? double(s.char_edits) / double(s.gt_chars) : -1.0).c_str(),
                s.gt_words, s.words_found);
  }
  std::printf("CER %s   WER %s   word recall %s   (%zu images, %zu chars, %zu words)\n",
              cell(r.cer).c_str(), cell(r.wer).c_str(), cell(r.word_recall).c_str(), r.images.size(),
              r.total.gt_chars, r.total.gt_words);
  return kExitOk;
}

std::function<int()> setup_eval_ocr(CLI::App* cmd, std::shared_ptr<EvalOutput> out) {
  auto opts = std::make_shared<EvalOcrOptions>();
  cmd->add_option("--gt", opts->ground_truth, "Ground truth: JSON Lines of {source, text}")
      ->required();
  cmd->add_option("--pred", opts->predictions,
                  "Predictions: JSON Lines with source and text (cvtool ocr --jsonl)")
      ->required();
  cmd->add_flag("--ignore-case", opts->ignore_case, "Compare texts case-insensitively");
  cmd->footer(
      "\nTexts are compared as Unicode code points after runs of whitespace (newlines too) are\n"
      "collapsed to one space. CER = character edits / ground truth characters and WER = word\n"
      "edits / ground truth words, both summed over images; word recall = ground truth words\n"
      "(multiset) found among the predicted words. Records match by source, else by file name;\n"
      "an image without a prediction scores as an empty text.\n\n"
      "Example:\n"
      "  cvtool ocr images/ --jsonl > pred.jsonl\n"
      "  cvtool eval ocr --gt gt.jsonl --pred pred.jsonl\n");
  return [opts, out] { return run_eval_ocr(*opts, *out); };
}

// ---------------------------------------------------------------- eval segment

struct EvalSegmentOptions {
  std::string ground_truth, predictions, labels;
  int ignore_index = 255;
  int max_detections = 100;
};

int run_eval_label_maps(const EvalSegmentOptions& opts, const EvalOutput& out) {
  std::vector<std::string> names;
  if (!opts.labels.empty()) names = read_labels(opts.labels);
  LabelMapEvalResult r = evaluate_label_map_folders(opts.ground_truth, opts.predictions, opts.ignore_index, names);
  if (r.unmatched_predictions)
    spdlog::warn("{} prediction PNGs have no ground truth of the same name: ignored", r.unmatched_predictions);
  if (out.jsonl) {
    JsonlWriter writer(std::cout);
    for (const auto& c : r.classes)
      writer.write({{"task", "segment"},
                    {"class_id", c.class_id},
                    {"name", c.name},
                    {"iou", metric(c.iou)},
                    {"intersection", c.intersection},
                    {"union", c.union_pixels},
                    {"ground_truth", c.ground_truth},
                    {"predicted", c.predicted}});
    writer.write({{"task", "segment"},
                  {"summary", true},
                  {"miou", metric(r.mean_iou)},
                  {"pixel_accuracy", metric(r.pixel_accuracy)},
                  {"images", r.images},
                  {"pixels", r.pixels},
                  {"ignored_unknown_image", r.unmatched_predictions}});
    return kExitOk;
  }
  std::printf("%-24s %6s %12s %12s %7s\n", "class", "id", "gt pixels", "predicted", "IoU");
  for (const auto& c : r.classes)
    std::printf("%-24.24s %6d %12llu %12llu %s\n", c.name.c_str(), c.class_id, (unsigned long long)c.ground_truth,
                (unsigned long long)c.predicted, cell(c.iou).c_str());
  std::printf("mIoU %s   pixel accuracy %s   (%zu images, %llu pixels scored)\n", cell(r.mean_iou).c_str(),
              cell(r.pixel_accuracy).c_str(), r.images, (unsigned long long)r.pixels);
  return kExitOk;
}

int run_eval_segment(const EvalSegmentOptions& opts, const EvalOutput& out) {
  if (std::filesystem::is_directory(opts.ground_truth)) return run_eval_label_maps(opts, out);
  // COCO instances: mask AP, reported like `eval detect`.
  CocoEvalOptions options;
  options.max_detections = opts.max_detections;
  if (!opts.labels.empty()) options.labels = read_labels(opts.labels);
  CocoEvalResult r = evaluate_coco_masks(read_json_document(opts.ground_truth, "ground truth"),
                                         read_json_document(opts.predictions, "predictions"), options);
  if (r.unmatched_image_predictions)
    spdlog::warn("{} of {} predictions are on images not in the ground truth: ignored", r.unmatched_image_predictions,
                 r.predictions);
  if (r.unknown_class_predictions)
    spdlog::warn("{} predictions have a category that is not in the ground truth: ignored", r.unknown_class_predictions);
  print_coco_result(r, "segment", out.jsonl);
  return kExitOk;
}

std::function<int()> setup_eval_segment(CLI::App* cmd, std::shared_ptr<EvalOutput> out) {
  auto opts = std::make_shared<EvalSegmentOptions>();
  cmd->add_option("--gt", opts->ground_truth,
                  "Ground truth: a folder of PNG label maps (mIoU), or a COCO instances JSON (mask AP)")
      ->required();
  cmd->add_option("--pred", opts->predictions,
                  "Predictions: a folder of PNG label maps matched by name (cvtool segment -o), or COCO results "
                  "with segmentation (predictions.coco.json)")
      ->required();
  cmd->add_option("--labels", opts->labels,
                  "Class names, one per line: names the label-map classes; for mask AP maps prediction "
                  "category_id i onto the ground truth category named on line i");
  cmd->add_option("--ignore-index", opts->ignore_index, "Label maps: ground truth value left out of scoring (-1: none)")
      ->check(CLI::Range(-1, 255));
  cmd->add_option("--max-dets", opts->max_detections, "Mask AP: instances per image and class that are ranked")
      ->check(CLI::PositiveNumber);
  cmd->footer(
      "\nLabel maps: per-class IoU = intersection / union summed over all images (confusion matrix),\n"
      "mIoU their mean over classes present in ground truth or prediction; palette PNGs are read as\n"
      "indices. COCO instances: mask AP as pycocotools' iouType segm (IoU .50:.05:.95, 101 points).\n\n"
      "Examples:\n"
      "  cvtool segment -c my-deeplab.json VOC/JPEGImages/ -o pred/ --no-overlay\n"
      "  cvtool eval segment --gt VOC/SegmentationClass --pred pred/ --labels voc.txt\n"
      "  cvtool eval segment --gt instances_val2017.json --pred out/predictions.coco.json\n");
  return [opts, out] { return run_eval_segment(*opts, *out); };
}

// ---------------------------------------------------------------- the command

struct EvalTask {
  const char* name;
  const char* help;
  std::function<int()> (*setup)(CLI::App*, std::shared_ptr<EvalOutput>);
};

const std::vector<EvalTask>& eval_tasks() {
  static const std::vector<EvalTask> tasks = {
      {"detect", "COCO box mAP@[.5:.95], mAP@.5 and per-class AP of detections",
       &setup_eval_detect},
      {"track", "MOTA, IDF1, ID switches, fragmentations and MT/ML of tracks (MOTChallenge files)",
       &setup_eval_track},
      {"ocr", "Character/word error rate and word recall of recognised text (cvtool ocr --jsonl)",
       &setup_eval_ocr},
      {"segment", "mIoU and per-class IoU of label maps, or COCO mask AP of instances", &setup_eval_segment},
  };
  return tasks;
}

}  // namespace

Command register_eval(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("eval", "Score predictions against ground truth (eval detect: COCO mAP)");
  cmd->require_subcommand(1);
  cmd->footer(
      "\nExamples:\n"
      "  cvtool eval detect --gt instances.json --pred out/predictions.coco.json --labels models/coco80.txt\n"
      "  cvtool eval track --gt gt.txt --pred out/vtest.mot.txt\n"
      "  cvtool eval ocr --gt truth.jsonl --pred ocr.jsonl --jsonl\n");
  auto out = std::make_shared<EvalOutput>();
  auto runs = std::make_shared<std::vector<std::pair<CLI::App*, std::function<int()>>>>();
  for (const auto& task : eval_tasks()) {
    CLI::App* sub = cmd->add_subcommand(task.name, task.help);
    sub->add_flag("--jsonl", out->jsonl,
                  "One JSON record per class, then a summary record, on stdout");
    sub->add_flag("-q,--quiet", out->quiet, "Only warnings and errors on stderr");
    runs->emplace_back(sub, task.setup(sub, out));
  }
  return {cmd, [runs, out]() -> int {
            CommonOptions logging;
            logging.quiet = out->quiet;
            setup_logging(logging);
            for (auto& [sub, run] : *runs)
              if (sub->parsed()) return run();
            throw Error(ErrorKind::Usage, "eval: name what to evaluate (detect)");
          }};
}

}  // namespace cvtool::cli
