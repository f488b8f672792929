// `cvtool classify`: maps flags onto the classify config, runs the Classifier over
// the inputs and hands results to the sinks (JSONL, summary lines, annotated images,
// predictions.csv). With several -c configs the members' class scores are averaged
// (classify/ensemble.hpp).
#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/classify/classifier.hpp"
#include "cvtool/classify/ensemble.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"

namespace cvtool::cli {

namespace {

struct ClassifyOptions {
  CommonOptions common;
  int top_k = 0;
  bool multi_label = false;
  double threshold = -1;
  std::vector<std::string> configs;  // ensemble: one per member
  std::string weights;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string summary_line(const Frame& frame, const Classification& r) {
  std::string line = frame.source;
  if (frame.index >= 0) line += "#" + std::to_string(frame.index);
  line += ":";
  if (r.classes.empty()) line += " (no class above threshold)";
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s %s %.3f", i ? "," : "", r.classes[i].label.c_str(), r.classes[i].score);
    line += buf;
  }
  return line;
}

int run_classify(ClassifyOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (opts.top_k > 0) o.push_back("post.top_k=" + std::to_string(opts.top_k));
  if (opts.multi_label) o.push_back("post.multi_label=true");
  if (opts.threshold >= 0) o.push_back("post.threshold=" + std::to_string(opts.threshold));
  if (!opts.weights.empty()) o.push_back("ensemble.weights=" + parse_weight_list(opts.weights, "--weights").dump());
  std::vector<Json> configs = load_member_configs("classify", "classify-digits.json", opts.common, opts.configs);
  const Json& config = configs[0];
  std::vector<float> weights;
  if (!config["ensemble"]["weights"].is_null()) {
    weights = config["ensemble"]["weights"].get<std::vector<float>>();
    if (weights.size() != configs.size())
      throw Error(ErrorKind::Usage, "--weights / ensemble.weights: " + std::to_string(weights.size()) + " values for " +
                                        std::to_string(configs.size()) + " configs");
  }
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  std::vector<Classifier> members;
  for (const auto& c : configs) members.emplace_back(c);
  std::vector<std::string> names = opts.configs;
  if (names.empty()) names.push_back("classify-digits.json");
  ClassifierEnsemble classifier(std::move(members), names, weights);
  if (configs.size() > 1) {
    Json list = Json::array();
    for (std::size_t t = 0; t < configs.size(); ++t) {
      float w = weights.empty() ? 1.0f : weights[t];
      list.push_back({{"config", names[t]}, {"model", configs[t]["model"]["path"]}, {"weight", w}});
      spdlog::info("ensemble member {}: {} (model {}, weight {})", t + 1, names[t],
                   configs[t]["model"]["path"].get<std::string>(), w);
    }
    if (!opts.common.output_dir.empty())
      write_file_atomic(std::filesystem::path(opts.common.output_dir) / "ensemble.json",
                        Json{{"task", "classify"}, {"members", list}, {"fusion", "weighted mean of class scores"}}.dump(2) +
                            "\n");
  }

  const bool to_dir = !opts.common.output_dir.empty();
  const bool save_images = to_dir && config["output"]["save_images"].get<bool>();
  const bool save_csv = to_dir && config["output"]["csv"].get<bool>();
  OutputNamer namer(opts.common.output_dir);
  for (const auto& item : items) namer.protect_input(item.path);
  JsonlWriter jsonl(std::cout);
  RunReport report;
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  std::string csv = "source,frame,rank,class_id,label,score\n";

  auto emit = [&](const Frame& frame, const Classification& r) {
    if (opts.common.jsonl) {
      Json record = {{"source", frame.source}};
      if (frame.index >= 0) record["frame"] = frame.index;
      record["width"] = frame.image.cols;
      record["height"] = frame.image.rows;
      Json list = Json::array();
      for (const auto& c : r.classes) list.push_back(to_json(c));
      record["classes"] = list;
      jsonl.write(record);
    } else if (!to_dir) {
      std::cout << summary_line(frame, r) << std::endl;
    }
    if (save_images)
      write_image_atomic(namer.path_for(frame.source, ".jpg", frame.index), draw_classification(frame.image, r));
    for (std::size_t i = 0; i < r.classes.size(); ++i) {
      char score[32];
      std::snprintf(score, sizeof score, "%.6f", r.classes[i].score);
      csv += csv_field(frame.source) + "," + (frame.index >= 0 ? std::to_string(frame.index) : "") + "," +
             std::to_string(i + 1) + "," + std::to_string(r.classes[i].class_id) + "," + csv_field(r.classes[i].label) +
             "," + score + "\n";
    }
  };

  std::string unit = for_each_batch(
      items, config, opts.common, std::size_t(config["runtime"]["batch"].get<int>()),
      [&](std::vector<Frame>& frames) {
        std::vector<cv::Mat> images;
        for (const auto& f : frames) images.push_back(f.image);
        std::vector<Classification> results;
        try {
          results = classifier.classify(images);
        } catch (const Error& e) {
          for (const auto& f : frames) report.failure(e.what(), f.source);
          return;
        }
        emit_each(frames, results, report, emit);
      },
      [&](const std::string& source, const std::string& error) { report.failure(error, source); });
  if (save_csv) {
    write_file_atomic(namer.dir() / "predictions.csv", csv);
    spdlog::info("predictions: {}", (namer.dir() / "predictions.csv").string());
  }
  return report.finish(unit);
}

}  // namespace

Command register_classify(CLI::App& app) {
  auto opts = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand("classify", "Classify images with a TorchScript classifier (top-k or multi-label)");
  add_common_options(cmd, opts->common);
  cmd->add_option("-k,--top-k", opts->top_k, "Classes reported per image (post.top_k)")->check(CLI::PositiveNumber);
  cmd->add_flag("--multi-label", opts->multi_label, "Per-class sigmoid scores against thresholds (post.multi_label)");
  cmd->add_option("--threshold", opts->threshold, "Multi-label default threshold (post.threshold)")
      ->check(CLI::Range(0.0, 1.0));
  allow_config_list(cmd, opts->configs);
  cmd->add_option("--weights", opts->weights, "Ensemble: one weight per -c config, e.g. 2,1 (ensemble.weights)");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool classify digits/test/ -c runs/digits/classify.json --top-k 3\n"
      "  cvtool classify photos/ -c configs/classify-digits.json --jsonl > labels.jsonl\n"
      "  cvtool classify scenes/ -c tags.json --multi-label --threshold 0.3 -o out/\n"
      "  cvtool classify digits/test/ -c configs/classify-digits.json -c runs/digits-s2/classify.json \\\n"
      "      --weights 2,1 --jsonl > ensemble.jsonl   # mean of the members' softmax scores\n");
  return {cmd, [opts] { return run_classify(*opts); }};
}

}  // namespace cvtool::cli
