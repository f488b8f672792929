// `cvtool track`: multi-object tracking by detection over videos (or a sorted image
// sequence), or over a MOTChallenge det.txt file of public detections.
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/video_sink.hpp"
#include "cvtool/detect/detector.hpp"
#ifdef CVTOOL_EMBED
#include "cvtool/embed/embedder.hpp"
#endif
#include "cvtool/track/appearance.hpp"
#include "cvtool/track/byte_tracker.hpp"
#include "cvtool/track/camera_motion.hpp"
#include "cvtool/track/draw_tracks.hpp"
#include "cvtool/track/flow_tracker.hpp"
#include "cvtool/track/meanshift_tracker.hpp"
#include "cvtool/track/mot_format.hpp"
#include "cvtool/track/siamese_tracker.hpp"
#include "cvtool/track/single_object_tracker.hpp"

namespace cvtool::cli {

namespace {

struct TrackOptions {
  CommonOptions common;
  std::string detections;  // MOT det.txt instead of running the detector
  std::string init;        // single-object mode: the box on the first frame
  std::string method = "csrt";
  std::string classes;
  bool cmc = false;
  std::string appearance;
};

TrackerParams tracker_params(const Json& t, const Json& appearance) {
  TrackerParams p;
  p.appearance.iou_weight = appearance["iou_weight"].get<float>();
  p.appearance.max_cosine_distance = appearance["max_cosine_distance"].get<float>();
  p.appearance.ema = appearance["ema"].get<float>();
  p.high_threshold = t["high_threshold"].get<float>();
  p.low_threshold = t["low_threshold"].get<float>();
  p.new_track_threshold = t["new_track_threshold"].get<float>();
  p.match_iou = t["match_iou"].get<float>();
  p.second_match_iou = t["second_match_iou"].get<float>();
  p.unconfirmed_match_iou = t["unconfirmed_match_iou"].get<float>();
  p.min_hits = t["min_hits"].get<int>();
  p.track_buffer = t["track_buffer"].get<int>();
  p.min_box_area = t["min_box_area"].get<float>();
  return p;
}

// One tracked sequence: tracker state, outputs, and per-track summaries.
class Sequence {
 public:
  Sequence(const std::string& source, const Json& config, const TrackOptions& opts, OutputNamer& namer, JsonlWriter& jsonl)
      : source_(source), opts_(opts), namer_(namer), jsonl_(jsonl),
        tracker_(tracker_params(config["tracker"], config["appearance"])), drawer_(config["output"]["trail"].get<int>()) {
    high_threshold_ = config["tracker"]["high_threshold"].get<float>();
    const Json& cm = config["camera_motion"];
    if (cm["enabled"].get<bool>()) {
      CameraMotionParams p;
      p.max_side = cm["max_side"].get<int>();
      p.max_corners = cm["max_corners"].get<int>();
      p.ransac_threshold = cm["ransac_threshold"].get<double>();
      camera_ = std::make_unique<CameraMotionEstimator>(p);
    }
    appearance_ = config["appearance"]["embedder"].get<std::string>();
    if (appearance_ == "model") {
      std::string path = config["appearance"]["config"].get<std::string>();
      if (path.empty()) throw Error(ErrorKind::Config, "appearance.config: embedder \"model\" needs an embed config");
#ifdef CVTOOL_EMBED
      ConfigSources sources{path, {"runtime.threads=" + config["runtime"]["threads"].dump(),
                                   "runtime.device=" + config["runtime"]["device"].get<std::string>()}};
      embedder_ = std::make_unique<Embedder>(load_config(sources, task_schema("embed")));
#else
      throw Error(ErrorKind::Config, "appearance.embedder: \"model\" needs cvtool built with -DCVTOOL_EMBED=ON");
#endif
    }
    bool out = !opts.common.output_dir.empty();
    save_video_ = out && config["output"]["save_video"].get<bool>();
    mot_ = out && config["output"]["mot_txt"].get<bool>();
  }

  // `frame_number` is 1-based as in MOTChallenge.
  void step(int frame_number, const cv::Mat& image, const std::vector<Detection>& dets) {
    if ((camera_ || appearance_ != "none") && image.empty() && !warned_no_image_) {
      spdlog::warn("{}: camera motion and appearance need the video frames; tracking on boxes alone", source_);
      warned_no_image_ = true;
    }
    if (camera_ && !image.empty()) {
      cv::Matx23d warp = camera_->estimate(image);
      if (!is_identity(warp)) tracker_.apply_camera_motion(warp);
    }
    std::vector<std::vector<float>> embeddings;
    if (appearance_ == "colour" && !image.empty()) {
      std::vector<std::array<float, 4>> boxes;
      for (const auto& d : dets) boxes.push_back(d.box);
      embeddings = colour_embeddings(image, boxes);
    }
#ifdef CVTOOL_EMBED
    if (embedder_ && !image.empty() && !dets.empty()) {
      // Crops of the high-score boxes only: appearance is used in the first pass alone.
      std::vector<cv::Mat> crops;
      std::vector<std::size_t> which;
      const cv::Rect bounds(0, 0, image.cols, image.rows);
      for (std::size_t i = 0; i < dets.size(); ++i) {
        const auto& b = dets[i].box;
        cv::Rect r = cv::Rect(cv::Point(int(b[0]), int(b[1])), cv::Point(int(b[2]) + 1, int(b[3]) + 1)) & bounds;
        if (dets[i].score < high_threshold_ || r.width < 4 || r.height < 4) continue;
        crops.push_back(image(r));
        which.push_back(i);
      }
      embeddings.assign(dets.size(), {});
      if (!crops.empty()) {
        auto vectors = embedder_->embed(crops);
        for (std::size_t k = 0; k < which.size(); ++k) embeddings[which[k]] = std::move(vectors[k]);
      }
    }
#endif
    auto tracks = tracker_.update(dets, embeddings);
    Json list = Json::array();
    for (const auto& t : tracks) {
      auto r2 = [](float v) { return std::round(double(v) * 100) / 100; };
      list.push_back({{"id", t.id}, {"label", t.label}, {"score", std::round(double(t.score) * 1e4) / 1e4},
                      {"box", {r2(t.box[0]), r2(t.box[1]), r2(t.box[2]), r2(t.box[3])}}});
      mot_text_ += mot_line({frame_number, t.id, t.box, t.score});
      auto& s = summary_[t.id];
      if (s.is_null()) s = {{"id", t.id}, {"label", t.label}, {"first_frame", frame_number}, {"frames", 0}};
      s["last_frame"] = frame_number;
      s["frames"] = s["frames"].get<int>() + 1;
    }
    if (opts_.common.jsonl) jsonl_.write({{"source", source_}, {"frame", frame_number}, {"tracks", list}});
    if (save_video_ && !image.empty()) {
      if (!video_) video_ = std::make_unique<VideoSink>(namer_.path_for(source_, ".avi"), video_fps(source_));
      video_->write(drawer_.draw(image, tracks));
    }
  }

  void finish() {
    if (video_) video_->finish();
    if (mot_) write_file_atomic(namer_.path_for(source_, ".mot.txt"), mot_text_);
    Json tracks = Json::array();
    for (auto& [id, s] : summary_) tracks.push_back(s);
    if (!opts_.common.output_dir.empty())
      write_file_atomic(namer_.path_for(source_, ".tracks.json"), tracks.dump(1) + "\n");
    spdlog::info("{}: {} frames, {} tracks", source_, tracker_.frame(), summary_.size());
  }

 private:
  std::string source_;
  const TrackOptions& opts_;
  OutputNamer& namer_;
  JsonlWriter& jsonl_;
  ByteTracker tracker_;
  TrackDrawer drawer_;
  std::unique_ptr<CameraMotionEstimator> camera_;
  std::string appearance_;
  float high_threshold_ = 0;
#ifdef CVTOOL_EMBED
  std::unique_ptr<Embedder> embedder_;
#endif
  bool warned_no_image_ = false;
  bool save_video_ = false, mot_ = false;
  std::unique_ptr<VideoSink> video_;
  std::string mot_text_;
  std::map<int, Json> summary_;
};

std::vector<Detection> detections_from_rows(const std::vector<MotRow>& rows) {
  std::vector<Detection> dets;
  for (const auto& r : rows) {
    Detection d;
    d.box = r.box;
    d.score = r.score;
    d.label = "object";
    dets.push_back(d);
  }
  return dets;
}

SiameseParams siamese_params(const Json& config) {
  const Json& s = config["single_object"]["siamese"];
  SiameseParams p;
  p.model = s["model"].get<std::string>();
  p.device = config["runtime"]["device"].get<std::string>();
  p.exemplar_size = s["exemplar_size"].get<int>();
  p.search_size = s["search_size"].get<int>();
  p.context = s["context"].get<double>();
  p.window_influence = s["window_influence"].get<double>();
  p.scale_step = s["scale_step"].get<double>();
  p.scale_penalty = s["scale_penalty"].get<double>();
  p.scale_rate = s["scale_rate"].get<double>();
  p.lost_below = s["lost_below"].get<double>();
  p.found_above = s["found_above"].get<double>();
  return p;
}

MeanShiftParams meanshift_params(const Json& config, bool camshift) {
  const Json& m = config["single_object"]["meanshift"];
  MeanShiftParams p;
  p.camshift = camshift;
  p.use_saturation = m["use_saturation"].get<bool>();
  p.hue_bins = m["hue_bins"].get<int>();
  p.saturation_bins = m["saturation_bins"].get<int>();
  p.min_saturation = m["min_saturation"].get<int>();
  p.min_value = m["min_value"].get<int>();
  p.max_iterations = m["max_iterations"].get<int>();
  p.epsilon = m["epsilon"].get<double>();
  p.lost_below = m["lost_below"].get<double>();
  p.found_above = m["found_above"].get<double>();
  return p;
}

FlowTrackerParams flow_params(const Json& config) {
  const Json& f = config["single_object"]["flow"];
  FlowTrackerParams p;
  p.lk.max_corners = f["max_points"].get<int>();
  p.lk.quality = f["quality"].get<double>();
  p.lk.min_distance = f["min_distance"].get<double>();
  p.lk.win_size = f["win_size"].get<int>();
  p.lk.levels = f["levels"].get<int>();
  p.lk.fb_threshold = f["fb_threshold"].get<double>();
  p.min_patch_ncc = f["min_patch_ncc"].get<double>();
  p.min_points = f["min_points"].get<int>();
  p.found_above = f["found_above"].get<double>();
  return p;
}

std::unique_ptr<SingleObjectTracker> make_tracker(const std::string& method, const Json& config) {
  if (method == "siamese") return make_siamese_tracker(siamese_params(config));
  if (method == "meanshift" || method == "camshift") return make_meanshift_tracker(meanshift_params(config, method == "camshift"));
  if (method == "flow") return make_flow_tracker(flow_params(config));
  return make_single_object_tracker(method);
}

// One object from a box on the first frame of each video: JSONL per frame with the
// state (tracking, lost, recovered), MOT rows while tracked, and an annotated video.
int run_single_object(const TrackOptions& opts, const Json& config) {
  cv::Rect2d init = parse_box(opts.init);
  auto items = collect_inputs(opts.common);
  OutputNamer namer(opts.common.output_dir);
  for (const auto& item : items) namer.protect_input(item.path);
  JsonlWriter jsonl(std::cout);
  RunReport report;
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  FrameStream stream(items, source_options(config));
  std::unique_ptr<SingleObjectTracker> tracker;
  std::unique_ptr<VideoSink> video;
  std::string current, mot_text;
  int lost = 0, recovered = 0;
  TrackState previous = TrackState::Tracking;
  auto finish_sequence = [&] {
    if (current.empty()) return;
    if (video) video->finish();
    video.reset();
    if (!opts.common.output_dir.empty()) write_file_atomic(namer.path_for(current, ".mot.txt"), mot_text);
    spdlog::info("{}: lost {} time(s), recovered {} time(s)", current, lost, recovered);
    mot_text.clear();
    lost = recovered = 0;
    previous = TrackState::Tracking;
  };
  while (auto next = stream.next()) {
    if (!next->ok()) {
      report.failure(next->error, next->frame.source);
      continue;
    }
    Frame& frame = next->frame;
    int number = frame.index >= 0 ? int(frame.index) + 1 : 1;
    SingleTrackResult r;
    if (frame.source != current) {
      finish_sequence();
      current = frame.source;
      tracker = make_tracker(opts.method, config);
      tracker->init(frame.image, init);
      r.box = init;
      r.score = 1;
    } else {
      r = tracker->update(frame.image);
    }
    if (r.state == TrackState::Lost && previous != TrackState::Lost) ++lost;
    if (r.state == TrackState::Recovered) ++recovered;
    previous = r.state;
    std::array<float, 4> box = {float(r.box.x), float(r.box.y), float(r.box.x + r.box.width),
                                float(r.box.y + r.box.height)};
    if (r.state != TrackState::Lost) mot_text += mot_line({number, 1, box, float(r.score)});
    if (opts.common.jsonl)
      jsonl.write({{"source", frame.source}, {"frame", number}, {"state", to_string(r.state)},
                   {"score", std::round(r.score * 1e4) / 1e4},
                   {"box", {std::round(double(box[0]) * 100) / 100, std::round(double(box[1]) * 100) / 100,
                            std::round(double(box[2]) * 100) / 100, std::round(double(box[3]) * 100) / 100}}});
    if (!opts.common.output_dir.empty() && config["output"]["save_video"].get<bool>()) {
      if (!video) video = std::make_unique<VideoSink>(namer.path_for(frame.source, ".avi"), video_fps(frame.source));
      Track t;
      t.id = 1;
      t.label = to_string(r.state);
      t.box = box;
      TrackDrawer drawer(0);
      video->write(drawer.draw(frame.image, r.state == TrackState::Lost ? std::vector<Track>{} : std::vector<Track>{t}));
    }
    report.success();
  }
  finish_sequence();
  return report.finish("frames");
}

int run_track(TrackOptions& opts) {
  setup_logging(opts.common);
  if (!opts.classes.empty()) {
    Json list = Json::array();
    std::stringstream ss(opts.classes);
    std::string name;
    while (std::getline(ss, name, ',')) list.push_back(name);
    opts.common.flag_overrides.push_back("detector.classes=" + list.dump());
  }
  if (opts.cmc) opts.common.flag_overrides.push_back("camera_motion.enabled=true");
  if (!opts.appearance.empty()) opts.common.flag_overrides.push_back("appearance.embedder=" + opts.appearance);
  Json config = load_task_config("track", "track-bytetrack.json", opts.common);
  configure_threads(config["runtime"]["threads"].get<int>());
  if (!opts.init.empty()) return run_single_object(opts, config);
  OutputNamer namer(opts.common.output_dir);
  JsonlWriter jsonl(std::cout);
  RunReport report;
  if (opts.common.jsonl) report.record_failures_to(&jsonl);

  if (!opts.detections.empty()) {
    // Public detections: association alone, frames from the video when one is given.
    auto by_frame = rows_by_frame(read_mot(opts.detections));
    int last = by_frame.empty() ? 0 : by_frame.rbegin()->first;
    std::string source = opts.common.inputs.empty() ? opts.detections : opts.common.inputs[0];
    Sequence seq(source, config, opts, namer, jsonl);
    std::unique_ptr<FrameStream> frames;
    if (!opts.common.inputs.empty()) frames = std::make_unique<FrameStream>(collect_inputs(opts.common), SourceOptions{});
    for (int f = 1; f <= last; ++f) {
      cv::Mat image;
      if (frames) {
        auto next = frames->next();
        if (next && next->ok()) image = next->frame.image;
      }
      seq.step(f, image, by_frame.count(f) ? detections_from_rows(by_frame[f]) : std::vector<Detection>{});
      report.success();
    }
    seq.finish();
    return report.finish("frames");
  }

  ConfigSources detect_sources{config["detector"]["config"].get<std::string>(), {}};
  detect_sources.overrides.push_back("post.score_threshold=" + config["detector"]["score_threshold"].dump());
  detect_sources.overrides.push_back("post.classes=" + config["detector"]["classes"].dump());
  detect_sources.overrides.push_back("runtime.threads=" + config["runtime"]["threads"].dump());
  detect_sources.overrides.push_back("runtime.device=" + config["runtime"]["device"].get<std::string>());
  Json detect_config = load_config(detect_sources, task_schema("detect"));
  auto items = collect_inputs(opts.common);
  for (const auto& item : items) namer.protect_input(item.path);
  Detector detector(detect_config);
  FrameStream stream(items, source_options(config));
  std::unique_ptr<Sequence> seq;
  for_each_sequence_frame(
      stream, opts.common, report,
      [&](const std::string& key) { seq = std::make_unique<Sequence>(key, config, opts, namer, jsonl); },
      [&] { seq->finish(); },
      [&](Frame& frame, int number) { seq->step(number, frame.image, detector.detect({frame.image})[0]); });
  return report.finish("frames");
}

}  // namespace

Command register_track(CLI::App& app) {
  auto opts = std::make_shared<TrackOptions>();
  CLI::App* cmd = app.add_subcommand("track", "Track objects through videos (ByteTrack-style multi-object tracking)");
  add_common_options(cmd, opts->common);
  cmd->add_option("--detections", opts->detections, "MOTChallenge det.txt: track these detections instead of detecting");
  cmd->add_option("--classes", opts->classes, "Classes to track (names, comma-separated; default person)");
  cmd->add_option("--init", opts->init, "Single-object mode: x,y,w,h of the object on the first frame");
  cmd->add_option("--method", opts->method,
                  "Single-object method: csrt, kcf, mil, template, siamese, meanshift, camshift or flow")
      ->check(CLI::IsMember({"csrt", "kcf", "mil", "template", "siamese", "meanshift", "camshift", "flow"}));
  cmd->add_flag("--cmc", opts->cmc, "Compensate camera motion (sets camera_motion.enabled)");
  cmd->add_option("--appearance", opts->appearance, "Fuse appearance with IoU: none, colour or model (appearance.embedder)")
      ->check(CLI::IsMember({"none", "colour", "model"}));
  cmd->footer(
      "\nExamples:\n"
      "  cvtool track /usr/share/doc/opencv-doc/examples/data/vtest.avi -o out/\n"
      "  cvtool track street.mp4 --classes person,car --jsonl > tracks.jsonl\n"
      "  cvtool track --detections MOT17-02/det/det.txt -o out/\n"
      "  cvtool track pan.avi --detections det.txt --cmc --appearance colour -o out/\n"
      "  cvtool track clip.avi --init 254,220,27,90 --method siamese --jsonl\n"
      "  cvtool track clip.avi --init 254,220,27,90 --method flow -o out/\n");
  return {cmd, [opts] { return run_track(*opts); }};
}

}  // namespace cvtool::cli
