// `cvtool flow`: dense optical flow (Farnebäck) between consecutive frames of videos (or
// of a sorted image sequence), written as a colour-coded video and per-frame fields
// (.npy H x W x 2 float32 and/or Middlebury .flo), with Lucas-Kanade point tracks as an
// option (--sparse).
#include <spdlog/spdlog.h>

#include <cmath>
#include <iostream>
#include <opencv2/imgproc.hpp>
#include <set>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/video_sink.hpp"
#include "cvtool/track/flow_dense.hpp"
#include "cvtool/track/flow_sparse.hpp"

namespace cvtool::cli {

namespace {

struct FlowOptions {
  CommonOptions common;
  bool sparse = false;
  std::string fields;  // "npy,flo", "none": overrides output.fields
};

FarnebackParams farneback_params(const Json& d) {
  FarnebackParams p;
  p.pyr_scale = d["pyr_scale"].get<double>();
  p.levels = d["levels"].get<int>();
  p.win_size = d["win_size"].get<int>();
  p.iterations = d["iterations"].get<int>();
  p.poly_n = d["poly_n"].get<int>();
  p.poly_sigma = d["poly_sigma"].get<double>();
  p.gaussian = d["gaussian"].get<bool>();
  return p;
}

LkParams lk_params(const Json& s) {
  LkParams p;
  p.max_corners = s["max_corners"].get<int>();
  p.quality = s["quality"].get<double>();
  p.min_distance = s["min_distance"].get<double>();
  p.win_size = s["win_size"].get<int>();
  p.levels = s["levels"].get<int>();
  p.fb_threshold = s["fb_threshold"].get<double>();
  return p;
}

double r4(double v) { return std::round(v * 1e4) / 1e4; }
double r2(double v) { return std::round(v * 100) / 100; }

// One sequence: the previous frame, its outputs, and the optional point tracks.
class FlowSequence {
 public:
  FlowSequence(std::string source, const Json& config, const FlowOptions& opts, OutputNamer& namer)
      : source_(std::move(source)), opts_(opts), namer_(namer), dense_(farneback_params(config["dense"])) {
    const Json& out = config["output"];
    bool to_dir = !opts.common.output_dir.empty();
    save_video_ = to_dir && out["video"].get<bool>();
    for (const auto& f : out["fields"]) fields_.insert(f.get<std::string>());
    if (!to_dir) fields_.clear();
    every_ = out["field_every"].get<int>();
    max_magnitude_ = out["max_magnitude"].get<double>();
    if (opts.sparse) points_ = std::make_unique<PointTracks>(lk_params(config["sparse"]));
    if (opts.sparse && to_dir) csv_ = "frame,id,x,y,fb_error\n";
  }

  // `number` is 1-based; the flow of frame n goes from frame n-1 to n.
  Json step(int number, const cv::Mat& image) {
    cv::Mat gray;
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    if (!prev_.empty() && prev_.size() != gray.size())
      throw Error(ErrorKind::Input, "frame " + std::to_string(number) + " is " + std::to_string(gray.cols) + "x" +
                                        std::to_string(gray.rows) + ", the sequence is " +
                                        std::to_string(prev_.cols) + "x" + std::to_string(prev_.rows));
    Json record = {{"source", source_}, {"frame", number}};
    if (!prev_.empty()) {
      cv::Mat flow = dense_flow(prev_, gray, dense_);
      cv::Vec2d mean = mean_flow(flow);
      double largest = 0;
      cv::Mat parts[2], magnitude;
      cv::split(flow, parts);
      cv::magnitude(parts[0], parts[1], magnitude);
      cv::minMaxLoc(magnitude, nullptr, &largest);
      record["mean_flow"] = {r4(mean[0]), r4(mean[1])};
      record["max_magnitude"] = r4(largest);
      Json files = Json::array();
      if (++pairs_ % every_ == 0) {
        if (fields_.count("npy")) {
          auto path = namer_.path_for(source_, ".flow.npy", number);
          cv::Mat packed = flow.isContinuous() ? flow : flow.clone();
          write_npy(path, packed.ptr<float>(), {packed.rows, packed.cols, 2});
          files.push_back(path.string());
        }
        if (fields_.count("flo")) {
          auto path = namer_.path_for(source_, ".flo", number);
          write_flo(path, flow);
          files.push_back(path.string());
        }
      }
      if (!files.empty()) record["fields"] = files;
      if (save_video_) {
        if (!video_) video_ = std::make_unique<VideoSink>(namer_.path_for(source_, ".flow.avi"), video_fps(source_));
        video_->write(flow_to_colour(flow, max_magnitude_));
      }
    }
    if (points_) {
      Json list = Json::array();
      for (const auto& p : points_->update(gray)) {
        list.push_back({{"id", p.id}, {"x", r2(p.at.x)}, {"y", r2(p.at.y)}});
        if (!opts_.common.output_dir.empty())
          csv_ += std::to_string(number) + "," + std::to_string(p.id) + "," + fmt(p.at.x) + "," + fmt(p.at.y) + "," +
                  fmt(p.fb_error) + "\n";
      }
      record["points"] = list;
    }
    prev_ = gray;
    return record;
  }

  void finish() {
    if (video_) video_->finish();
    if (points_ && !opts_.common.output_dir.empty()) write_file_atomic(namer_.path_for(source_, ".points.csv"), csv_);
    spdlog::info("{}: {} flow fields", source_, pairs_);
  }

 private:
  static std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
  }

  std::string source_;
  const FlowOptions& opts_;
  OutputNamer& namer_;
  FarnebackParams dense_;
  bool save_video_ = false;
  std::set<std::string> fields_;
  int every_ = 1;
  double max_magnitude_ = 0;
  long long pairs_ = 0;
  cv::Mat prev_;
  std::unique_ptr<VideoSink> video_;
  std::unique_ptr<PointTracks> points_;
  std::string csv_;
};

int run_flow(FlowOptions& opts) {
  setup_logging(opts.common);
  if (!opts.fields.empty()) {
    Json list = Json::array();
    std::stringstream ss(opts.fields);
    for (std::string f; std::getline(ss, f, ',');)
      if (f != "none") list.push_back(f);
    opts.common.flag_overrides.push_back("output.fields=" + list.dump());
  }
  Json config = load_task_config("flow", "flow.json", opts.common);
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  OutputNamer namer(opts.common.output_dir);
  for (const auto& item : items) namer.protect_input(item.path);
  JsonlWriter jsonl(std::cout);
  RunReport report;
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  FrameStream stream(items, source_options(config));
  std::unique_ptr<FlowSequence> seq;
  for_each_sequence_frame(
      stream, opts.common, report,
      [&](const std::string& key) { seq = std::make_unique<FlowSequence>(key, config, opts, namer); },
      [&] { seq->finish(); },
      [&](Frame& frame, int number) {
        Json record = seq->step(number, frame.image);
        if (opts.common.jsonl) jsonl.write(record);
      });
  return report.finish("frames");
}

}  // namespace

Command register_flow(CLI::App& app) {
  auto opts = std::make_shared<FlowOptions>();
  CLI::App* cmd = app.add_subcommand("flow", "Optical flow: dense (Farnebäck) fields and colour video, sparse point tracks");
  add_common_options(cmd, opts->common);
  cmd->add_flag("--sparse", opts->sparse, "Also follow corners with Lucas-Kanade (-o: NAME.points.csv; --jsonl: points)");
  cmd->add_option("--fields", opts->fields, "Per-frame fields to write: npy, flo, npy,flo or none (output.fields)");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool flow /usr/share/doc/opencv-doc/examples/data/vtest.avi -o out/ --fields none\n"
      "  cvtool flow clip.avi -o out/ --fields npy,flo --max-frames 10\n"
      "  cvtool flow clip.avi --sparse --jsonl -o out/ > flow.jsonl\n");
  return {cmd, [opts] { return run_flow(*opts); }};
}

}  // namespace cvtool::cli
