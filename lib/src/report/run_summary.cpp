#include "cvtool/report/run_summary.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"

namespace cvtool {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string task_of(const Json& r) {
  if (r.contains("detections")) return "detect";
  if (r.contains("lines")) return "ocr";
  if (r.contains("tracks") || r.contains("state")) return "track";
  if (r.contains("classes") || r.contains("instances") || r.contains("mask")) return "segment";
  return "";
}

bool is_video_path(const fs::path& p) {
  static const std::set<std::string> exts = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return exts.count(ext) > 0;
}

std::vector<fs::path> jsonl_files(const fs::path& dir, const std::vector<fs::path>& extra) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& e : extra)
    if (std::find(files.begin(), files.end(), e) == files.end()) files.push_back(e);
  return files;
}

void count_item(RunSummary& run, const RunItem& item) {
  auto& counts = run.counts[item.task];
  if (item.task == "detect") {
    for (const auto& r : item.records)
      for (const auto& d : r["detections"]) ++counts[d.value("label", "?")];
  } else if (item.task == "track") {
    std::set<std::pair<std::string, long long>> seen;
    for (const auto& r : item.records)
      if (r.contains("tracks"))
        for (const auto& t : r["tracks"]) seen.insert({t.value("label", "?"), t.value("id", 0LL)});
    for (const auto& s : seen) ++counts[s.first];
  } else if (item.task == "segment") {
    std::set<std::string> present;
    for (const auto& r : item.records) {
      for (const auto& c : r.value("classes", Json::array()))
        if (c.value("area", 0LL) > 0) present.insert(c.value("label", "?"));
      for (const auto& c : r.value("instances", Json::array())) present.insert(c.value("label", "?"));
    }
    for (const auto& label : present) ++counts[label];
  } else if (item.task == "ocr") {
    for (const auto& r : item.records) counts["text lines"] += long(r["lines"].size());
  }
}

// The annotated image or video -o wrote for this input, following the commands' names.
fs::path find_artifact(const fs::path& dir, const RunItem& item, const std::string& stem) {
  std::vector<std::string> names;
  if (item.video()) {
    names = {stem + ".avi"};
  } else if (item.task == "segment") {
    names = {stem + "_overlay.jpg", stem + "_alpha.png"};
  } else {
    names = {stem + ".jpg"};
  }
  for (const auto& n : names)
    if (fs::is_regular_file(dir / n)) return dir / n;
  return {};
}

}  // namespace

bool RunItem::video() const {
  if (is_video_path(source)) return true;
  return !records.empty() && records.front().contains("frame");
}

std::size_t RunSummary::failed() const {
  return std::size_t(std::count_if(items.begin(), items.end(), [](const RunItem& i) { return !i.error.empty(); }));
}

std::string count_unit(const std::string& task) {
  if (task == "detect") return "detections";
  if (task == "track") return "tracks";
  if (task == "segment") return "images";
  if (task == "ocr") return "lines";
  return "records";
}

RunSummary read_run(const fs::path& dir, const std::vector<fs::path>& extra) {
  if (!fs::is_directory(dir)) throw Error(ErrorKind::Input, dir.string() + ": not a directory");
  RunSummary run;
  run.dir = dir;
  std::map<std::string, std::size_t> index;  // source -> item
  for (const auto& file : jsonl_files(dir, extra)) {
    std::ifstream in(file);
    if (!in) throw Error(ErrorKind::Input, file.string() + ": cannot open");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Json r;
      try {
        r = Json::parse(line);
      } catch (const Json::exception& e) {
        throw Error(ErrorKind::Input, file.string() + ":" + std::to_string(n) + ": not JSON: " + e.what());
      }
      if (!r.is_object()) continue;
      if (r.contains("ms_per_image")) {  // a `cvtool bench --jsonl` record
        run.bench = r;
        run.stage_ms.clear();
        for (const auto& [stage, ms] : r["ms_per_image"].items()) run.stage_ms.emplace_back(stage, ms.get<double>());
        // Pipeline order (JSON objects come back sorted by name).
        static const std::vector<std::string> order = {"decode", "preprocess", "model", "postprocess"};
        auto rank = [&](const std::string& s) { return std::find(order.begin(), order.end(), s) - order.begin(); };
        std::stable_sort(run.stage_ms.begin(), run.stage_ms.end(),
                         [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
        continue;
      }
      if (!r.contains("source") || !r["source"].is_string()) continue;  // e.g. eval summaries
      std::string source = r["source"];
      auto [it, inserted] = index.emplace(source, run.items.size());
      if (inserted) run.items.push_back(RunItem{source, "", {}, "", {}});
      RunItem& item = run.items[it->second];
      if (r.contains("error")) {
        item.error = r["error"].is_string() ? r["error"].get<std::string>() : r["error"].dump();
        continue;
      }
      std::string task = task_of(r);
      if (task.empty()) continue;
      item.task = task;
      item.records.push_back(std::move(r));
    }
  }
  if (run.items.empty() && run.bench.is_null())
    throw Error(ErrorKind::Input, dir.string() + ": no results to report (save a run's --jsonl output there: "
                                  "cvtool detect IMAGES -o DIR --jsonl > DIR/results.jsonl)");
  // Stems are handed out in input order, as the commands did (failed inputs included).
  OutputNamer namer(dir);
  for (auto& item : run.items) {
    std::string stem = namer.stem_for(item.source);
    if (!item.task.empty()) {
      item.artifact = find_artifact(dir, item, stem);
      if (std::find(run.tasks.begin(), run.tasks.end(), item.task) == run.tasks.end()) run.tasks.push_back(item.task);
      count_item(run, item);
    }
  }
  return run;
}

}  // namespace cvtool
