// `cvtool ocr`: maps flags onto the ocr config, runs the OcrEngine over the inputs
// and hands results to the sinks: plain text on stdout (like `tesseract img -`),
// JSONL records, or per-image .txt/.tsv/.hocr/annotated .jpg files with -o.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/progress.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/ocr/ocr_engine.hpp"
#include "cvtool/ocr/ocr_formats.hpp"

namespace cvtool::cli {

namespace {

struct OcrOptions {
  CommonOptions common;
  bool cls = false;
  double drop_score = -1;
};

class OcrRun {
 public:
  OcrRun(const OcrOptions& opts, const Json& config, OcrEngine& engine,
         const std::vector<InputItem>& items)
      : opts_(opts), engine_(engine), namer_(opts.common.output_dir), jsonl_(std::cout) {
    if (opts.common.jsonl) report.record_failures_to(&jsonl_);
    for (const auto& item : items) namer_.protect_input(item.path);
    const Json& out = config["output"];
    const bool to_dir = !opts.common.output_dir.empty();
    save_txt_ = to_dir && out["save_txt"].get<bool>();
    save_tsv_ = to_dir && out["save_tsv"].get<bool>();
    save_hocr_ = to_dir && out["save_hocr"].get<bool>();
    save_images_ = to_dir && out["save_images"].get<bool>();
    multiple_ = items.size() > 1;
  }

  void process(const Frame& frame) {
    OcrResult result;
    OcrTimings timings;
    auto t0 = std::chrono::steady_clock::now();
    try {
      result = engine_.run(frame.image, &timings);
    } catch (const Error& e) {
      report.failure(e.what(), frame.source);
      return;
    }
    double total =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    spdlog::debug("{}: {} lines in {:.0f} ms (detect {:.0f}, classify {:.0f}, recognize {:.0f})",
                  frame.source, result.lines.size(), total, timings.detect_ms, timings.classify_ms,
                  timings.recognize_ms);
    try {
      emit(frame, result);
      report.success(frame.source, frame.index);
    } catch (const Error& e) {
      report.failure(e.what(), frame.source);
    }
  }

  RunReport report;

 private:
  std::string stem(const Frame& frame) { return namer_.stem_for(frame.source, frame.index); }

  void emit(const Frame& frame, const OcrResult& result) {
    if (opts_.common.jsonl) {
      Json record = {{"source", frame.source}};
      if (frame.index >= 0) record["frame"] = frame.index;
      record["width"] = frame.image.cols;
      record["height"] = frame.image.rows;
      Json lines = Json::array();
      for (const auto& l : result.lines) lines.push_back(to_json(l));
      record["lines"] = lines;
      record["text"] = result.text;
      jsonl_.write(record);
    } else if (opts_.common.output_dir.empty()) {
      // Several inputs: a header per input so the text can be told apart.
      if (multiple_) std::cout << "==> " << frame.source << " <==\n";
      if (!result.text.empty()) std::cout << result.text << "\n";
      std::cout.flush();
    }
    const std::string name = stem(frame);
    const auto dir = namer_.dir();
    if (save_txt_)
      write_file_atomic(dir / (name + ".txt"), result.text.empty() ? "" : result.text + "\n");
    if (save_tsv_) write_file_atomic(dir / (name + ".tsv"), ocr_tsv(result, frame.image.size()));
    if (save_hocr_)
      write_file_atomic(dir / (name + ".hocr"),
                        ocr_hocr(result, frame.image.size(),
                                 std::filesystem::path(frame.source).filename().string()));
    if (save_images_)
      write_image_atomic(namer_.path_for(frame.source, ".jpg", frame.index),
                         draw_text_lines(frame.image, result));
  }

  const OcrOptions& opts_;
  OcrEngine& engine_;
  OutputNamer namer_;
  JsonlWriter jsonl_;
  bool save_txt_ = false, save_tsv_ = false, save_hocr_ = false, save_images_ = false,
       multiple_ = false;
};

int run_ocr(OcrOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (opts.cls) o.push_back("cls.enabled=true");
  if (opts.drop_score >= 0) o.push_back("rec.drop_score=" + std::to_string(opts.drop_score));
  Json config = load_task_config("ocr", "ocr-ppocrv4.json", opts.common);
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  OcrEngine engine(config);
  spdlog::debug("ocr models {} + {} on {} thread(s)", config["det"]["model"].get<std::string>(),
                config["rec"]["model"].get<std::string>(), runtime_info().intra_op_threads);

  OcrRun run(opts, config, engine, items);
  // Images run one at a time: each has its own detector input size.
  std::string unit = for_each_batch(
      items, config, opts.common, 1, [&](std::vector<Frame>& frames) { run.process(frames[0]); },
      [&](const std::string& source, const std::string& error) { run.report.failure(error, source); });
  if (!opts.common.output_dir.empty()) spdlog::info("results in {}", opts.common.output_dir);
  return run.report.finish(unit);
}

}  // namespace

Command register_ocr(CLI::App& app) {
  auto opts = std::make_shared<OcrOptions>();
  CLI::App* cmd =
      app.add_subcommand("ocr", "Read text in images (PP-OCRv4 detection + recognition)");
  add_common_options(cmd, opts->common);
  cmd->add_flag("--cls", opts->cls,
                "Classify line orientation and turn upside-down lines (cls.enabled)");
  cmd->add_option("--drop-score", opts->drop_score,
                  "Drop lines scoring below this (rec.drop_score)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->footer(
      "\nOutput: the text on stdout; --jsonl gives {source, lines: [{text, score, polygon}], "
      "text};\n"
      "-o DIR writes <name>.txt, Tesseract-style <name>.tsv and <name>.hocr, and <name>.jpg with "
      "the lines drawn.\n"
      "\nExamples:\n"
      "  cvtool ocr /usr/share/doc/opencv-doc/examples/data/imageTextR.png\n"
      "  cvtool ocr scans/ -o out/ --threads 2\n"
      "  cvtool ocr receipt.jpg --jsonl | jq -r .text\n");
  return {cmd, [opts] { return run_ocr(*opts); }};
}

}  // namespace cvtool::cli
