// `cvtool segment`: maps flags onto the segment config, runs the Segmenter over the
// inputs and hands results to the sinks (JSONL, palette PNG label maps, overlays,
// alpha cut-outs).
#include <spdlog/spdlog.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/png_palette.hpp"
#include "cvtool/core/progress.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/detect/annotate.hpp"
#include "cvtool/segment/rle.hpp"
#include "cvtool/segment/overlay.hpp"
#include "cvtool/segment/segmenter.hpp"

namespace cvtool::cli {

namespace {

struct SegmentOptions {
  CommonOptions common;
  double threshold = -1;
  bool alpha = false;
  bool no_overlay = false;
};

std::string summary_line(const Frame& frame, const Segmentation& seg) {
  std::string line = frame.source;
  if (frame.index >= 0) line += "#" + std::to_string(frame.index);
  line += ":";
  if (seg.instance_map) {
    line += " " + std::to_string(seg.instances.size()) + " instance(s)";
    for (std::size_t i = 0; i < seg.instances.size(); ++i) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s %s %.2f", i ? "," : ":", seg.instances[i].label.c_str(),
                    double(seg.instances[i].score));
      line += buf;
    }
    return line;
  }
  for (std::size_t i = 0; i < seg.classes.size(); ++i) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s %s %.1f%%", i ? "," : "", seg.classes[i].label.c_str(),
                  100.0 * seg.classes[i].fraction);
    line += buf;
  }
  return line;
}

class SegmentRun {
 public:
  SegmentRun(const SegmentOptions& opts, const Json& config, Segmenter& segmenter, const std::vector<InputItem>& items)
      : opts_(opts), segmenter_(segmenter), namer_(opts.common.output_dir), jsonl_(std::cout) {
    if (opts.common.jsonl) report.record_failures_to(&jsonl_);
    for (const auto& item : items) namer_.protect_input(item.path);
    const Json& out = config["output"];
    const bool to_dir = !opts.common.output_dir.empty();
    save_mask_ = to_dir && out["save_mask"].get<bool>();
    save_overlay_ = to_dir && out["save_overlay"].get<bool>();
    save_alpha_ = to_dir && out["save_alpha"].get<bool>();
    opacity_ = out["overlay_opacity"].get<double>();
    mask_palette_ = out["mask_colours"].get<bool>() ? segmenter.palette() : grey_palette(int(segmenter.palette().size()));
    feather_ = config["post"]["feather"].get<double>();
    save_instances_ = to_dir && segmenter.has_instances() && out["save_instances"].get<bool>();
    coco_ = to_dir && segmenter.has_instances() && out["coco_json"].get<bool>();
  }

  void process(std::vector<Frame>& frames) {
    std::vector<cv::Mat> images;
    for (const auto& f : frames) images.push_back(f.image);
    std::vector<Segmentation> results;
    try {
      results = segmenter_.segment(images, &timings_);
      timed_ += images.size();
    } catch (const Error& e) {
      for (const auto& f : frames) report.failure(e.what(), f.source);
      return;
    }
    emit_each(frames, results, report, [&](const Frame& f, const auto& r) { emit(f, r); });
  }

  void finish() {
    if (timed_)
      spdlog::debug("per image: preprocess {:.1f} ms, model {:.1f} ms, postprocess {:.1f} ms ({} images)",
                    timings_.preprocess_ms / timed_, timings_.model_ms / timed_, timings_.postprocess_ms / timed_, timed_);
    if (coco_) write_file_atomic(namer_.dir() / "predictions.coco.json", coco_results_.dump() + "\n");
    if (!opts_.common.output_dir.empty()) spdlog::info("results in {}", opts_.common.output_dir);
  }

  RunReport report;

 private:
  void emit(const Frame& frame, const Segmentation& seg) {
    Json mask_path = nullptr;
    if (save_mask_) {
      auto path = namer_.path_for(frame.source, ".png", frame.index);
      write_file_atomic(path, encode_palette_png(seg.labels, mask_palette_));
      mask_path = path.string();
    }
    if (save_overlay_)
      write_image_atomic(namer_.path_for(frame.source, "_overlay.jpg", frame.index),
                         draw_overlay(frame.image, seg.labels, segmenter_.palette(), opacity_));
    if (save_alpha_)
      write_image_atomic(namer_.path_for(frame.source, "_alpha.png", frame.index),
                         alpha_cutout(frame.image, seg, feather_));
    if (save_instances_ || coco_) emit_instances(frame, seg);
    if (opts_.common.jsonl) {
      Json record = {{"source", frame.source}};
      if (frame.index >= 0) record["frame"] = frame.index;
      record["width"] = frame.image.cols;
      record["height"] = frame.image.rows;
      record["mask"] = mask_path;
      Json list = Json::array();
      if (seg.instance_map) {
        for (const auto& i : seg.instances) list.push_back(to_json(i));
        record["instances"] = list;
      } else {
        for (const auto& c : seg.classes) list.push_back(to_json(c));
        record["classes"] = list;
      }
      jsonl_.write(record);
    } else if (opts_.common.output_dir.empty()) {
      std::cout << summary_line(frame, seg) << std::endl;
    }
  }

  // Per-instance binary PNGs (<stem>_<k>.png, k from 0 best first) and COCO results
  // entries with the mask as compressed RLE.
  void emit_instances(const Frame& frame, const Segmentation& seg) {
    const Json image_id = frame.index >= 0 ? Json(namer_.stem_for(frame.source, frame.index))
                                           : coco_image_id(frame.source, Json::object());
    for (std::size_t k = 0; k < seg.instances.size(); ++k) {
      const Instance& inst = seg.instances[k];
      cv::Mat mask = inst.full_mask(frame.image.size());
      if (save_instances_)
        write_image_atomic(namer_.path_for(frame.source, "_" + std::to_string(k) + ".png", frame.index), mask * 255);
      if (coco_) {
        auto r2 = [](double v) { return std::round(v * 100.0) / 100.0; };
        coco_results_.push_back({{"image_id", image_id},
                                 {"category_id", inst.class_id},
                                 {"bbox", {r2(inst.box[0]), r2(inst.box[1]), r2(inst.box[2] - inst.box[0]),
                                           r2(inst.box[3] - inst.box[1])}},
                                 {"score", std::round(double(inst.score) * 1e5) / 1e5},
                                 {"area", inst.area},
                                 {"segmentation", rle_to_json(rle_encode(mask))}});
      }
    }
  }

  const SegmentOptions& opts_;
  Segmenter& segmenter_;
  OutputNamer namer_;
  JsonlWriter jsonl_;
  bool save_mask_ = false, save_overlay_ = false, save_alpha_ = false, save_instances_ = false, coco_ = false;
  Json coco_results_ = Json::array();
  double opacity_ = 0.5, feather_ = 0;
  std::vector<PaletteColour> mask_palette_;
  SegmentTimings timings_;
  std::size_t timed_ = 0;
};

int run_segment(SegmentOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (opts.threshold >= 0) o.push_back("post.threshold=" + std::to_string(opts.threshold));
  if (opts.alpha) o.push_back("output.save_alpha=true");
  if (opts.no_overlay) o.push_back("output.save_overlay=false");
  Json config = load_task_config("segment", "segment-selfie.json", opts.common);
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  if (opts.alpha && opts.common.output_dir.empty()) spdlog::warn("--alpha writes files: give -o DIR");
  Segmenter segmenter(config);
  spdlog::debug("model {} on {} thread(s)", config["model"]["path"].get<std::string>(), runtime_info().intra_op_threads);

  SegmentRun run(opts, config, segmenter, items);
  std::string unit = for_each_batch(
      items, config, opts.common, std::size_t(config["runtime"]["batch"].get<int>()),
      [&](std::vector<Frame>& frames) { run.process(frames); },
      [&](const std::string& source, const std::string& error) { run.report.failure(error, source); });
  run.finish();
  return run.report.finish(unit);
}

}  // namespace

Command register_segment(CLI::App& app) {
  auto opts = std::make_shared<SegmentOptions>();
  CLI::App* cmd = app.add_subcommand("segment", "Semantic, person and instance segmentation: label maps, instance masks, overlays, cut-outs");
  add_common_options(cmd, opts->common);
  cmd->add_option("--threshold", opts->threshold, "Foreground probability threshold (post.threshold)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--alpha", opts->alpha, "With -o: <name>_alpha.png, an RGBA cut-out with the soft mask as alpha");
  cmd->add_flag("--no-overlay", opts->no_overlay, "With -o: skip <name>_overlay.jpg");
  cmd->footer(
      "\nOutputs with -o DIR: <name>.png (label map, 8-bit palette PNG: pixel value = class id;\n"
      "--set output.mask_colours=true gives it the model's colours), <name>_overlay.jpg,\n"
      "and <name>_alpha.png with --alpha. Instance families (torchvision_maskrcnn, yolov8_seg):\n"
      "<name>.png holds instance indices (1 = best score, 0 = none), predictions.coco.json the\n"
      "instances with compressed-RLE masks, <name>_<k>.png one mask per instance with\n"
      "--set output.save_instances=true; --jsonl gives `instances` (label, score, box, area).\n"
      "\nExamples:\n"
      "  cvtool segment /usr/lib/python3/dist-packages/skimage/data/astronaut.png\n"
      "  cvtool segment photos/ -o out/ --alpha            # background removal\n"
      "  cvtool segment -c configs/segment-text-ppocrv4.json scan.png -o out/ --jsonl\n"
      "  cvtool segment -c my-yolov8-seg.json street.jpg -o out/ --set output.save_instances=true\n");
  return {cmd, [opts] { return run_segment(*opts); }};
}

}  // namespace cvtool::cli
