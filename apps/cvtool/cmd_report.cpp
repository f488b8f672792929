// `cvtool report RUN_DIR -o report.html`: one self-contained HTML page for a run of
// detect, segment, ocr or track (their -o folder with the --jsonl output saved in it).
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/report/html_report.hpp"

namespace cvtool::cli {

namespace {

struct ReportOptions {
  std::string run_dir;
  std::string output;
  std::vector<std::string> jsonl;
  std::string title;
  int max_side = 480;
};

int run_report(const ReportOptions& opts) {
  std::vector<std::filesystem::path> extra(opts.jsonl.begin(), opts.jsonl.end());
  RunSummary run = read_run(opts.run_dir, extra);
  HtmlReportOptions html;
  html.title = opts.title;
  html.max_side = opts.max_side;
  std::string page = html_report(run, html);
  std::filesystem::path out = opts.output.empty() ? std::filesystem::path(opts.run_dir) / "report.html" : std::filesystem::path(opts.output);
  write_file_atomic(out, page);
  std::cerr << "report: " << out.string() << " (" << run.items.size() << " inputs, " << run.failed() << " failed, "
            << page.size() / 1024 << " KiB)" << std::endl;
  return kExitOk;
}

}  // namespace

Command register_report(CLI::App& app) {
  auto opts = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand("report", "One self-contained HTML page for a run: gallery, results, counts, timing, failures");
  cmd->add_option("run_dir", opts->run_dir, "Folder of a run: its -o artifacts and its --jsonl output (*.jsonl)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", opts->output, "HTML file to write (default: RUN_DIR/report.html)");
  cmd->add_option("--jsonl", opts->jsonl, "More JSONL files to read (results, or `bench --jsonl` timing)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--title", opts->title, "Page title");
  cmd->add_option("--max-side", opts->max_side, "Longest side of the embedded images, pixels")->check(CLI::Range(32, 4096));
  cmd->footer(
      "\nReads RUN_DIR/*.jsonl (records of detect, segment, ocr, track; failures; a bench record for\n"
      "timing per stage) and the annotated images/videos -o wrote there.\n"
      "\nExamples:\n"
      "  cvtool detect /usr/share/doc/opencv-doc/examples/data/ -o run/ --jsonl > run/results.jsonl\n"
      "  cvtool report run/ -o report.html\n"
      "  cvtool track /usr/share/doc/opencv-doc/examples/data/vtest.avi -o trk/ --jsonl > trk/tracks.jsonl && cvtool report trk/\n");
  return {cmd, [opts] { return run_report(*opts); }};
}

}  // namespace cvtool::cli
