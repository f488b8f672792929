// `cvtool explain`: saliency maps (Grad-CAM, gradients, occlusion) for a classifier's
// decision on each input, written as heat-map overlays (PNG) and raw maps (.npy);
// --maximize draws the input that most excites one channel of the layer.
#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/tools/explain.hpp"

namespace cvtool::cli {

namespace {

struct ExplainOptions {
  CommonOptions common;
  std::string from, layer, score;
  std::vector<std::string> methods;
  int class_id = -1, patch = 0, stride = 0, maximize = -1, steps = 200;
};

// Replaces the model section with the one of a classify config (paths already resolved).
void take_model_from(Json& config, const std::string& classify_config) {
  Json c = load_config({classify_config, {}}, task_schema("classify"));
  if (c["task"] != "classify") throw Error(ErrorKind::Config, classify_config + ": --from needs a classify config");
  config["model"] = c["model"];
}

// Small images (digits are 20 px) get a larger overlay, so the map can be seen.
cv::Mat overlay_base(const cv::Mat& image) {
  const int shorter = std::min(image.cols, image.rows);
  if (shorter >= 256 || shorter == 0) return image;
  int k = (256 + shorter - 1) / shorter;
  cv::Mat big;
  cv::resize(image, big, cv::Size(image.cols * k, image.rows * k), 0, 0, cv::INTER_NEAREST);
  return big;
}

int run_explain(ExplainOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (!opts.methods.empty()) o.push_back("explain.methods=" + Json(opts.methods).dump());
  if (!opts.layer.empty()) o.push_back("explain.layer=" + Json(opts.layer).dump());
  if (opts.class_id >= 0) o.push_back("explain.class=" + std::to_string(opts.class_id));
  if (!opts.score.empty()) o.push_back("explain.score=" + Json(opts.score).dump());
  if (opts.patch > 0) o.push_back("explain.occlusion.patch=" + std::to_string(opts.patch));
  if (opts.stride > 0) o.push_back("explain.occlusion.stride=" + std::to_string(opts.stride));
  Json config = load_task_config("explain", "explain-digits.json", opts.common);
  if (!opts.from.empty()) take_model_from(config, opts.from);
  configure_threads(config["runtime"]["threads"].get<int>());
  ExplainParams params = explain_params_from_json(config["explain"]);
  if (opts.maximize >= 0) {
    params.methods = {"gradient"};  // gradcam is not run; the layer is still captured
    if (opts.common.output_dir.empty()) throw Error(ErrorKind::Usage, "--maximize needs -o DIR for the image");
  }
  Explainer explainer(config, params);
  const double alpha = config["explain"]["alpha"].get<double>();

  if (opts.maximize >= 0) {
    cv::Mat best = explainer.maximize_activation(opts.maximize, opts.steps);
    std::string name = params.layer;
    for (char& ch : name)
      if (ch == ':' || ch == '/') ch = '_';
    auto path = std::filesystem::path(opts.common.output_dir) / ("maximize_" + name + "_" + std::to_string(opts.maximize) + ".png");
    write_image_atomic(path, overlay_base(best));
    if (opts.common.jsonl) std::cout << Json{{"layer", params.layer}, {"channel", opts.maximize}, {"image", path.string()}}.dump() << std::endl;
    else spdlog::info("activation maximization: {}", path.string());
    return kExitOk;
  }

  auto items = collect_inputs(opts.common);
  const bool to_dir = !opts.common.output_dir.empty();
  OutputNamer namer(opts.common.output_dir);
  for (const auto& item : items) namer.protect_input(item.path);
  JsonlWriter jsonl(std::cout);
  RunReport report;
  if (opts.common.jsonl) report.record_failures_to(&jsonl);

  auto emit = [&](const Frame& frame, const Explanation& r) {
    Json maps = Json::array();
    std::ostringstream line;
    line << frame.source << (frame.index >= 0 ? "#" + std::to_string(frame.index) : "") << ": class " << r.label << " (p "
         << r.probability << ")";
    for (const auto& m : r.maps) {
      cv::Point peak;
      cv::minMaxLoc(m.map, nullptr, nullptr, nullptr, &peak);
      Json entry = {{"method", m.method}, {"peak", {peak.x, peak.y}}};
      line << ", " << m.method << " peak (" << peak.x << "," << peak.y << ")";
      if (to_dir) {
        auto npy = namer.path_for(frame.source, "." + m.method + ".npy", frame.index);
        write_npy(npy, reinterpret_cast<const float*>(m.map.ptr<float>(0)), {m.map.rows, m.map.cols});
        auto png = namer.path_for(frame.source, "." + m.method + ".png", frame.index);
        write_image_atomic(png, overlay_heatmap(overlay_base(frame.image), m.map, alpha));
        entry["npy"] = npy.string();
        entry["png"] = png.string();
      }
      maps.push_back(entry);
    }
    if (opts.common.jsonl) {
      Json record = {{"source", frame.source}};
      if (frame.index >= 0) record["frame"] = frame.index;
      record["class_id"] = r.class_id;
      record["label"] = r.label;
      record["logit"] = r.logit;
      record["probability"] = r.probability;
      record["map_size"] = {explainer.input_size().width, explainer.input_size().height};
      record["maps"] = maps;
      jsonl.write(record);
    } else {
      std::cout << line.str() << std::endl;
    }
  };

  std::string unit = for_each_batch(
      items, config, opts.common, 1,
      [&](std::vector<Frame>& frames) {
        for (const auto& f : frames) {
          try {
            Explanation r = explainer.explain(f.image);
            emit_each(std::vector<Frame>{f}, std::vector<Explanation>{r}, report, emit);
          } catch (const Error& e) {
            report.failure(e.what(), f.source);
          }
        }
      },
      [&](const std::string& source, const std::string& error) { report.failure(error, source); });
  return report.finish(unit);
}

}  // namespace

Command register_explain(CLI::App& app) {
  auto opts = std::make_shared<ExplainOptions>();
  CLI::App* cmd = app.add_subcommand("explain", "Saliency maps for a classifier's decision: Grad-CAM, gradients, occlusion");
  add_common_options(cmd, opts->common);
  cmd->add_option("--from", opts->from, "Take the model (path, size, normalisation, labels) from this classify config");
  cmd->add_option("--method", opts->methods, "gradcam, gradient, occlusion (repeatable; explain.methods)")
      ->delimiter(',')
      ->check(CLI::IsMember({"gradcam", "gradient", "occlusion"}));
  cmd->add_option("--layer", opts->layer,
                  "Grad-CAM layer: a submodule (features.6) or PATH:OP[:K], the K-th aten::OP of PATH's forward "
                  "(backbone:relu = its last ReLU)");
  cmd->add_option("--class", opts->class_id, "Class id to explain (default: the top-1 prediction)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--score", opts->score, "logit or probability")->check(CLI::IsMember({"logit", "probability"}));
  cmd->add_option("--patch", opts->patch, "Occlusion patch side (model-input pixels)")->check(CLI::PositiveNumber);
  cmd->add_option("--stride", opts->stride, "Occlusion stride")->check(CLI::PositiveNumber);
  cmd->add_option("--maximize", opts->maximize, "Activation maximization: write the image that most excites this channel of --layer")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--steps", opts->steps, "Activation maximization: gradient steps")->check(CLI::PositiveNumber);
  cmd->footer(
      "\nExamples:\n"
      "  cvtool explain digits/test/7/ -o out/explain --jsonl\n"
      "  cvtool explain cat.jpg --from configs/classify-mine.json --layer features.6 --method gradcam,occlusion -o out/\n"
      "  cvtool explain --layer backbone:relu --maximize 3 -o out/   (the input that most excites channel 3)\n");
  return {cmd, [opts] { return run_explain(*opts); }};
}

}  // namespace cvtool::cli
