// `cvtool detect`: maps flags onto the detect config, runs the Detector over the
// inputs and hands results to the sinks (JSONL, annotated images/videos, YOLO txt,
// COCO results).
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/progress.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/video_sink.hpp"
#include "cvtool/detect/annotate.hpp"
#include "cvtool/detect/detector.hpp"

namespace cvtool::cli {

namespace {

struct DetectOptions {
  CommonOptions common;
  double conf = -1, iou = -1;
  std::string classes;
  int imgsz = 0, max_det = 0;
  bool save_txt = false, save_conf = false;
};

std::string summary_line(const Frame& frame, const std::vector<Detection>& dets) {
  std::string line = frame.source;
  if (frame.index >= 0) line += "#" + std::to_string(frame.index);
  line += ": " + std::to_string(dets.size()) + (dets.size() == 1 ? " object" : " objects");
  for (std::size_t i = 0; i < dets.size(); ++i) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s %s %.2f [%.0f,%.0f,%.0f,%.0f]", i ? "," : "", dets[i].label.c_str(),
                  dets[i].score, dets[i].box[0], dets[i].box[1], dets[i].box[2], dets[i].box[3]);
    line += buf;
  }
  return line;
}

Json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::Config, path + ": cannot open");
  try {
    return Json::parse(in);
  } catch (const Json::parse_error& e) {
    throw Error(ErrorKind::Config, path + ": malformed JSON: " + e.what());
  }
}

class DetectRun {
 public:
  DetectRun(const DetectOptions& opts, const Json& config, Detector& detector, const std::vector<InputItem>& items)
      : opts_(opts), config_(config), detector_(detector), namer_(opts.common.output_dir), jsonl_(std::cout) {
    if (opts.common.jsonl) report.record_failures_to(&jsonl_);
    for (const auto& item : items) namer_.protect_input(item.path);
    // --resume: the COCO entries of inputs done before come back from the manifest.
    if (Manifest* m = run_manifest())
      for (const auto& item : items) {
        Json done = m->payload(item.path);
        if (done.is_object() && done.contains("coco"))
          for (const auto& e : done["coco"]) coco_results_.push_back(e);
      }
    const Json& out = config["output"];
    save_images_ = !opts.common.output_dir.empty() && out["save_images"].get<bool>();
    save_txt_ = !opts.common.output_dir.empty() && out["save_txt"].get<bool>();
    coco_ = !opts.common.output_dir.empty() && out["coco_json"].get<bool>();
    if (!out["image_ids"].is_null()) image_ids_ = read_json_file(out["image_ids"].get<std::string>());
  }

  void process(std::vector<Frame>& frames) {
    std::vector<cv::Mat> images;
    for (const auto& f : frames) images.push_back(f.image);
    std::vector<std::vector<Detection>> results;
    try {
      results = detector_.detect(images);
    } catch (const Error& e) {
      for (const auto& f : frames) report.failure(e.what(), f.source);
      return;
    }
    emit_each(frames, results, report, [&](const Frame& f, const auto& r) { emit(f, r); });
  }

  void finish() {
    if (video_) video_->finish();
    video_.reset();
    if (coco_) {
      auto path = namer_.dir() / "predictions.coco.json";
      write_file_atomic(path, coco_results_.dump() + "\n");
      spdlog::info("COCO results: {}", path.string());
    }
    if (!opts_.common.output_dir.empty()) spdlog::info("results in {}", opts_.common.output_dir);
  }

  RunReport report;

 private:
  void emit(const Frame& frame, const std::vector<Detection>& dets) {
    if (opts_.common.jsonl) {
      Json record = {{"source", frame.source}};
      if (frame.index >= 0) record["frame"] = frame.index;
      record["width"] = frame.image.cols;
      record["height"] = frame.image.rows;
      Json list = Json::array();
      for (const auto& d : dets) list.push_back(to_json(d));
      record["detections"] = list;
      jsonl_.write(record);
    } else if (opts_.common.output_dir.empty()) {
      std::cout << summary_line(frame, dets) << std::endl;
    }
    if (save_images_) {
      cv::Mat drawn = draw_detections(frame.image, dets);
      if (frame.index >= 0) {
        if (!video_ || video_source_ != frame.source) {
          if (video_) video_->finish();
          video_ = std::make_unique<VideoSink>(namer_.path_for(frame.source, ".avi"), video_fps(frame.source));
          video_source_ = frame.source;
        }
        video_->write(drawn);
      } else {
        write_image_atomic(namer_.path_for(frame.source, ".jpg"), drawn);
      }
    }
    if (save_txt_) {
      // An empty file for an image without detections: "nothing found", not "not processed".
      write_file_atomic(namer_.dir() / "labels" / (namer_.stem_for(frame.source, frame.index) + ".txt"),
                        yolo_txt(dets, frame.image.size(), opts_.save_conf));
    }
    if (coco_) {
      Json id = frame.index >= 0 ? Json(namer_.stem_for(frame.source, frame.index)) : coco_image_id(frame.source, image_ids_);
      Json entries = Json::array();
      append_coco_results(entries, id, dets);
      for (auto& e : entries) coco_results_.push_back(e);
      report.set_payload({{"coco", std::move(entries)}});
    }
  }

  const DetectOptions& opts_;
  const Json& config_;
  Detector& detector_;
  OutputNamer namer_;
  JsonlWriter jsonl_;
  bool save_images_ = false, save_txt_ = false, coco_ = false;
  Json image_ids_ = Json::object();
  Json coco_results_ = Json::array();
  std::unique_ptr<VideoSink> video_;
  std::string video_source_;
};

int run_detect(DetectOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (opts.conf >= 0) o.push_back("post.score_threshold=" + std::to_string(opts.conf));
  if (opts.iou >= 0) o.push_back("post.nms_iou=" + std::to_string(opts.iou));
  if (opts.imgsz > 0) o.push_back("model.input_size=[" + std::to_string(opts.imgsz) + "," + std::to_string(opts.imgsz) + "]");
  if (opts.max_det > 0) o.push_back("post.max_detections=" + std::to_string(opts.max_det));
  if (opts.save_txt) o.push_back("output.save_txt=true");
  if (!opts.classes.empty()) {
    Json list = Json::array();
    std::stringstream ss(opts.classes);
    std::string name;
    while (std::getline(ss, name, ',')) {
      bool numeric = !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit);
      list.push_back(numeric ? Json(std::stoi(name)) : Json(name));
    }
    o.push_back("post.classes=" + list.dump());
  }
  Json config = load_task_config("detect", "detect-centernet.json", opts.common);
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  Detector detector(config);
  spdlog::debug("model {} on {} thread(s)", config["model"]["path"].get<std::string>(), runtime_info().intra_op_threads);

  DetectRun run(opts, config, detector, items);
  std::string unit = for_each_batch(
      items, config, opts.common, std::size_t(config["runtime"]["batch"].get<int>()),
      [&](std::vector<Frame>& frames) { run.process(frames); },
      [&](const std::string& source, const std::string& error) { run.report.failure(error, source); });
  run.finish();
  return run.report.finish(unit);
}

}  // namespace

Command register_detect(CLI::App& app) {
  auto opts = std::make_shared<DetectOptions>();
  CLI::App* cmd = app.add_subcommand("detect", "Detect objects in images, folders and videos");
  add_common_options(cmd, opts->common);
  cmd->add_option("--conf", opts->conf, "Score threshold (post.score_threshold)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--iou", opts->iou, "NMS IoU threshold (post.nms_iou)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--classes", opts->classes, "Keep only these classes: names or ids, comma-separated");
  cmd->add_option("--imgsz", opts->imgsz, "Model input size (square)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-det", opts->max_det, "Maximum detections per image")->check(CLI::PositiveNumber);
  cmd->add_flag("--save-txt", opts->save_txt, "With -o: YOLO-format labels/<name>.txt per image");
  cmd->add_flag("--save-conf", opts->save_conf, "With --save-txt: append the score to each line");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool detect /usr/share/doc/opencv-doc/examples/data/messi5.jpg\n"
      "  cvtool detect photos/ -o out/ --classes person,car --conf 0.4\n"
      "  cvtool detect street.avi --vid-stride 5 --jsonl > detections.jsonl\n");
  return {cmd, [opts] { return run_detect(*opts); }};
}

}  // namespace cvtool::cli
