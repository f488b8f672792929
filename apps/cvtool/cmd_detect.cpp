// `cvtool detect`: maps flags onto the detect config, runs the Detector over the
// inputs and hands results to the sinks (JSONL, annotated images/videos, YOLO txt,
// COCO results). With several -c configs the members' detections are fused per image
// by Weighted Box Fusion (detect/box_fusion.hpp).
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
#include "cvtool/detect/box_fusion.hpp"
#include "cvtool/detect/detector.hpp"

namespace cvtool::cli {

namespace {

struct DetectOptions {
  CommonOptions common;
  double conf = -1, iou = -1;
  std::string classes;
  int imgsz = 0, max_det = 0;
  bool save_txt = false, save_conf = false;
  // Ensemble: one config per member, --weights, fusion flags (ensemble.* keys).
  std::vector<std::string> configs;
  std::string weights, conf_type;
  double fusion_iou = -1, skip_box = -1;
};

// The members of a run (one for a plain run) and how their detections are fused.
struct Ensemble {
  std::vector<Detector> members;
  BoxFusionParams fusion;
  float score_threshold = 0;
  int max_detections = 100;

  std::vector<std::vector<Detection>> detect(const std::vector<cv::Mat>& images) {
    if (members.size() == 1) return members[0].detect(images);
    std::vector<std::vector<std::vector<Detection>>> each;  // member -> image -> detections
    for (auto& m : members) each.push_back(m.detect(images));
    std::vector<std::vector<Detection>> out(images.size());
    for (std::size_t i = 0; i < images.size(); ++i) {
      std::vector<std::vector<Detection>> per_model;
      for (auto& e : each) per_model.push_back(std::move(e[i]));
      for (auto& d : weighted_box_fusion(per_model, fusion)) {
        if (int(out[i].size()) >= max_detections) break;
        if (d.score >= score_threshold) out[i].push_back(std::move(d));
      }
    }
    return out;
  }
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
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::Config, path + ": malformed JSON: " + e.what());
  }
}

class DetectRun {
 public:
  DetectRun(const DetectOptions& opts, const Json& config, Ensemble& detector, const std::vector<InputItem>& items)
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
  Ensemble& detector_;
  OutputNamer namer_;
  JsonlWriter jsonl_;
  bool save_images_ = false, save_txt_ = false, coco_ = false;
  Json image_ids_ = Json::object();
  Json coco_results_ = Json::array();
  std::unique_ptr<VideoSink> video_;
  std::string video_source_;
};

// The run's metadata of an ensemble: logged, and with -o written as ensemble.json.
void record_members(const DetectOptions& opts, const std::vector<Json>& configs, const Ensemble& e) {
  Json members = Json::array();
  for (std::size_t t = 0; t < configs.size(); ++t) {
    float w = e.fusion.weights.empty() ? 1.0f : e.fusion.weights[t];
    members.push_back({{"config", opts.configs[t]},
                       {"model", configs[t]["model"]["path"]},
                       {"flip_horizontal", configs[t]["pre"]["flip_horizontal"]},
                       {"weight", w}});
    spdlog::info("ensemble member {}: {} (model {}, weight {})", t + 1, opts.configs[t],
                 configs[t]["model"]["path"].get<std::string>(), w);
  }
  Json fusion = {{"method", "weighted_box_fusion"},
                 {"iou_threshold", e.fusion.iou_threshold},
                 {"skip_box_threshold", e.fusion.skip_box_threshold},
                 {"conf_type", fusion_conf_type_name(e.fusion.conf_type)},
                 {"score_threshold", e.score_threshold},
                 {"max_detections", e.max_detections}};
  spdlog::info("fusion: WBF iou>{} skip<{} conf_type {}", e.fusion.iou_threshold, e.fusion.skip_box_threshold,
               fusion_conf_type_name(e.fusion.conf_type));
  if (!opts.common.output_dir.empty())
    write_file_atomic(std::filesystem::path(opts.common.output_dir) / "ensemble.json",
                      Json{{"task", "detect"}, {"members", members}, {"fusion", fusion}}.dump(2) + "\n");
}

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
  if (!opts.weights.empty()) o.push_back("ensemble.weights=" + parse_weight_list(opts.weights, "--weights").dump());
  if (opts.fusion_iou >= 0) o.push_back("ensemble.iou_threshold=" + std::to_string(opts.fusion_iou));
  if (opts.skip_box >= 0) o.push_back("ensemble.skip_box_threshold=" + std::to_string(opts.skip_box));
  if (!opts.conf_type.empty()) o.push_back("ensemble.conf_type=\"" + opts.conf_type + "\"");
  std::vector<Json> configs = load_member_configs("detect", "detect-centernet.json", opts.common, opts.configs);
  const Json& config = configs[0];
  const Json& ens = config["ensemble"];
  Ensemble detector;
  if (!ens["weights"].is_null()) {
    detector.fusion.weights = ens["weights"].get<std::vector<float>>();
    if (detector.fusion.weights.size() != configs.size())
      throw Error(ErrorKind::Usage, "--weights / ensemble.weights: " + std::to_string(detector.fusion.weights.size()) +
                                        " values for " + std::to_string(configs.size()) + " configs");
  }
  detector.fusion.iou_threshold = ens["iou_threshold"].get<float>();
  detector.fusion.skip_box_threshold = ens["skip_box_threshold"].get<float>();
  detector.fusion.conf_type = parse_fusion_conf_type(ens["conf_type"].get<std::string>());
  detector.score_threshold = ens["score_threshold"].get<float>();
  detector.max_detections = config["post"]["max_detections"].get<int>();
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  for (const auto& c : configs) detector.members.emplace_back(c);
  spdlog::debug("model {} on {} thread(s)", config["model"]["path"].get<std::string>(), runtime_info().intra_op_threads);
  if (configs.size() > 1) record_members(opts, configs, detector);

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
  allow_config_list(cmd, opts->configs);
  cmd->add_option("--weights", opts->weights, "Ensemble: one weight per -c config, e.g. 2,1 (ensemble.weights)");
  cmd->add_option("--fusion-iou", opts->fusion_iou, "Ensemble: WBF cluster IoU threshold (ensemble.iou_threshold, 0.55)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--skip-box-thr", opts->skip_box, "Ensemble: leave member boxes below this score out (ensemble.skip_box_threshold)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--conf-type", opts->conf_type, "Ensemble: fused score rule (ensemble.conf_type)")
      ->check(CLI::IsMember({"avg", "max", "box_and_model_avg", "absent_model_aware_avg"}));
  cmd->footer(
      "\nExamples:\n"
      "  cvtool detect /usr/share/doc/opencv-doc/examples/data/messi5.jpg\n"
      "  cvtool detect photos/ -o out/ --classes person,car --conf 0.4\n"
      "  cvtool detect street.avi --vid-stride 5 --jsonl > detections.jsonl\n"
      "  cvtool detect /usr/share/doc/opencv-doc/examples/data/messi5.jpg -c configs/detect-centernet.json \\\n"
      "      -c configs/detect-centernet-flip.json --weights 1,1 --fusion-iou 0.55   # WBF ensemble\n");
  return {cmd, [opts] { return run_detect(*opts); }};
}

}  // namespace cvtool::cli
