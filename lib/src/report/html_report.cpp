#include "cvtool/report/html_report.hpp"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>

namespace cvtool {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64_encode(const std::vector<unsigned char>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = unsigned(bytes[i]) << 16 | unsigned(bytes[i + 1]) << 8 | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += table[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = unsigned(bytes[i]) << 16 | (i + 1 < bytes.size() ? unsigned(bytes[i + 1]) << 8 : 0u);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string box_text(const Json& box) {
  std::string s = "[";
  for (std::size_t i = 0; i < box.size(); ++i) s += (i ? "," : "") + fmt("%.0f", box[i].get<double>());
  return s + "]";
}

cv::Scalar colour_for(const std::string& key) {
  std::size_t h = std::hash<std::string>{}(key);
  return cv::Scalar(double(64 + h % 192), double(64 + (h / 192) % 192), double(64 + (h / 36864) % 192));
}

// Boxes and polygons of a record, for inputs that have no annotated artifact.
void draw_record(cv::Mat& image, const Json& r) {
  auto draw_box = [&](const Json& box, const std::string& text, const std::string& key) {
    if (!box.is_array() || box.size() != 4) return;
    cv::Point p1(int(box[0].get<double>()), int(box[1].get<double>())), p2(int(box[2].get<double>()), int(box[3].get<double>()));
    cv::rectangle(image, p1, p2, colour_for(key), 2);
    cv::putText(image, text, p1 + cv::Point(2, 14), cv::FONT_HERSHEY_SIMPLEX, 0.5, colour_for(key), 1, cv::LINE_AA);
  };
  for (const auto& d : r.value("detections", Json::array())) draw_box(d["box"], d.value("label", ""), d.value("label", ""));
  for (const auto& t : r.value("tracks", Json::array()))
    draw_box(t["box"], std::to_string(t.value("id", 0)), std::to_string(t.value("id", 0)));
  for (const auto& l : r.value("lines", Json::array())) {
    std::vector<cv::Point> poly;
    for (const auto& p : l.value("polygon", Json::array())) poly.emplace_back(int(p[0].get<double>()), int(p[1].get<double>()));
    if (!poly.empty()) cv::polylines(image, poly, true, cv::Scalar(0, 200, 0), 2);
  }
}

std::string data_uri(const cv::Mat& image, const HtmlReportOptions& o) {
  if (image.empty()) return "";
  cv::Mat small = image;
  double scale = double(o.max_side) / std::max(image.cols, image.rows);
  if (scale < 1) cv::resize(image, small, cv::Size(), scale, scale, cv::INTER_AREA);
  if (small.channels() == 4) cv::cvtColor(small, small, cv::COLOR_BGRA2BGR);
  if (small.channels() == 1) cv::cvtColor(small, small, cv::COLOR_GRAY2BGR);
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, o.jpeg_quality});
  return "data:image/jpeg;base64," + base64_encode(jpeg);
}

struct Picture {
  std::string uri, caption;
};

// Frames of a video at the given positions (0-based, in read order).
std::vector<cv::Mat> video_frames(const fs::path& path, const std::vector<long long>& positions) {
  std::vector<cv::Mat> frames(positions.size());
  cv::VideoCapture cap(path.string());
  if (!cap.isOpened() || positions.empty()) return frames;
  long long last = *std::max_element(positions.begin(), positions.end());
  cv::Mat frame;
  for (long long k = 0; k <= last && cap.read(frame); ++k)
    for (std::size_t i = 0; i < positions.size(); ++i)
      if (positions[i] == k) frames[i] = frame.clone();
  return frames;
}

std::vector<Picture> pictures(const RunItem& item, const HtmlReportOptions& o) {
  std::vector<Picture> out;
  if (!item.video()) {
    cv::Mat image;
    if (!item.artifact.empty()) image = cv::imread(item.artifact.string(), cv::IMREAD_UNCHANGED);
    if (image.empty()) {
      image = cv::imread(item.source, cv::IMREAD_COLOR);
      if (!image.empty() && !item.records.empty()) draw_record(image, item.records.front());
    }
    if (!image.empty())
      out.push_back({data_uri(image, o), item.artifact.empty() ? "drawn from the results" : item.artifact.filename().string()});
    return out;
  }
  // A video: the processed frames at first, middle and last position. The annotated
  // video holds one frame per record; the source video is read by frame number.
  const std::size_t n = item.records.size();
  std::vector<std::size_t> picks;
  for (int k = 0; k < o.frames_per_video && n; ++k) {
    std::size_t p = o.frames_per_video == 1 ? 0 : std::size_t(double(k) * double(n - 1) / (o.frames_per_video - 1));
    if (std::find(picks.begin(), picks.end(), p) == picks.end()) picks.push_back(p);
  }
  std::vector<long long> positions;
  const bool annotated = !item.artifact.empty();
  for (auto p : picks) {
    long long frame = item.records[p].value("frame", 0LL);
    // track numbers frames from 1 (MOT), detect from 0.
    positions.push_back(annotated ? (long long)p : item.task == "track" ? frame - 1 : frame);
  }
  auto frames = video_frames(annotated ? item.artifact : fs::path(item.source), positions);
  for (std::size_t i = 0; i < picks.size(); ++i) {
    if (frames[i].empty()) continue;
    if (!annotated) draw_record(frames[i], item.records[picks[i]]);
    out.push_back({data_uri(frames[i], o), "frame " + std::to_string(item.records[picks[i]].value("frame", 0LL))});
  }
  return out;
}

std::string results_table(const RunItem& item) {
  std::ostringstream h;
  if (item.task == "detect" && !item.video()) {
    const Json& dets = item.records.front()["detections"];
    h << "<p><span class=\"n\">" << dets.size() << "</span> detections</p>";
    if (dets.empty()) return h.str();
    h << "<table class=\"results\"><tr><th>label</th><th>score</th><th>box</th></tr>";
    for (const auto& d : dets)
      h << "<tr><td>" << html_escape(d.value("label", "")) << "</td><td>" << fmt("%.2f", d.value("score", 0.0))
        << "</td><td>" << box_text(d["box"]) << "</td></tr>";
    h << "</table>";
  } else if (item.task == "detect" || item.task == "track") {
    // A video: one row per label (detect) or per track (track).
    std::map<std::string, Json> rows;
    for (const auto& r : item.records) {
      const bool track = item.task == "track";
      for (const auto& x : r.value(track ? "tracks" : "detections", Json::array())) {
        std::string key = track ? std::to_string(x.value("id", 0)) : x.value("label", "?");
        Json& row = rows[key];
        long long frame = r.value("frame", 0LL);
        if (row.is_null()) row = {{"label", x.value("label", "?")}, {"first", frame}, {"n", 0}};
        row["last"] = frame;
        row["n"] = row["n"].get<long long>() + 1;
      }
    }
    h << "<p><span class=\"n\">" << item.records.size() << "</span> frames, <span class=\"n\">" << rows.size()
      << "</span> " << (item.task == "track" ? "tracks" : "classes") << "</p>";
    if (rows.empty()) return h.str();
    h << "<table class=\"results\"><tr><th>" << (item.task == "track" ? "id" : "label")
      << "</th><th>label</th><th>first frame</th><th>last frame</th><th>" << (item.task == "track" ? "frames" : "boxes")
      << "</th></tr>";
    for (const auto& [key, row] : rows)
      h << "<tr><td>" << html_escape(key) << "</td><td>" << html_escape(row["label"].get<std::string>()) << "</td><td>"
        << row["first"] << "</td><td>" << row["last"] << "</td><td>" << row["n"] << "</td></tr>";
    h << "</table>";
  } else if (item.task == "ocr") {
    const Json& r = item.records.front();
    h << "<p><span class=\"n\">" << r["lines"].size() << "</span> text lines</p>";
    if (r["lines"].empty()) return h.str();
    h << "<table class=\"results\"><tr><th>text</th><th>score</th></tr>";
    for (const auto& l : r["lines"])
      h << "<tr><td class=\"text\">" << html_escape(l.value("text", "")) << "</td><td>" << fmt("%.2f", l.value("score", 0.0))
        << "</td></tr>";
    h << "</table>";
  } else if (item.task == "segment") {
    const Json& r = item.records.front();
    h << "<table class=\"results\"><tr><th>class</th><th>area</th></tr>";
    for (const auto& c : r.value("classes", Json::array()))
      h << "<tr><td>" << html_escape(c.value("label", "")) << "</td><td>" << fmt("%.1f%%", 100.0 * c.value("fraction", 0.0))
        << "</td></tr>";
    for (const auto& c : r.value("instances", Json::array()))
      h << "<tr><td>" << html_escape(c.value("label", "")) << " " << fmt("%.2f", c.value("score", 0.0)) << "</td><td>"
        << c.value("area", 0LL) << " px</td></tr>";
    h << "</table>";
    if (r.contains("mask") && r["mask"].is_string())
      h << "<p class=\"note\">mask: " << html_escape(fs::path(r["mask"].get<std::string>()).filename().string()) << "</p>";
  }
  return h.str();
}

const char* kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#eee} .summary span{font-weight:bold}
#gallery{display:flex;flex-wrap:wrap;gap:16px}
.item{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;margin:0;width:500px}
.item img{max-width:100%;display:block;margin-bottom:4px}
.item figcaption{font-weight:bold;word-break:break-all;margin-bottom:6px}
.item.failed{border-color:#c33;background:#fff3f3}
.failure{color:#a00} .note{color:#666;font-size:12px} .frames{display:flex;gap:4px}
.frames img{width:32%}
)css";

}  // namespace

std::string html_report(const RunSummary& run, const HtmlReportOptions& o) {
  std::ostringstream h;
  std::string title = o.title.empty() ? "cvtool report: " + run.dir.string() : o.title;
  std::size_t failed = run.failed();
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << html_escape(title)
    << "</title><style>" << kStyle << "</style></head><body>\n";
  h << "<h1>" << html_escape(title) << "</h1>\n";
  std::string tasks;
  for (const auto& t : run.tasks) tasks += (tasks.empty() ? "" : ", ") + t;
  h << "<p class=\"summary\">task: <span id=\"tasks\">" << html_escape(tasks.empty() ? "-" : tasks) << "</span>; inputs: <span id=\"n-inputs\">"
    << run.items.size() << "</span>, done: <span id=\"n-done\">" << run.items.size() - failed
    << "</span>, failed: <span id=\"n-failed\">" << failed << "</span></p>\n";

  h << "<h2>Counts per class</h2>\n<table id=\"counts\"><tr><th>task</th><th>class</th><th>count</th></tr>\n";
  for (const auto& [task, labels] : run.counts) {
    std::vector<std::pair<std::string, long long>> rows(labels.begin(), labels.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [label, n] : rows)
      h << "<tr data-task=\"" << task << "\" data-label=\"" << html_escape(label) << "\"><td>" << task << "</td><td>"
        << html_escape(label) << "</td><td class=\"count\">" << n << " " << count_unit(task) << "</td></tr>\n";
  }
  h << "</table>\n";

  if (!run.stage_ms.empty()) {
    double total = 0;
    for (const auto& s : run.stage_ms) total += s.second;
    h << "<h2>Timing per stage</h2>\n<table id=\"timing\"><tr><th>stage</th><th>ms per image</th><th>share</th></tr>\n";
    for (const auto& [stage, ms] : run.stage_ms)
      h << "<tr data-stage=\"" << html_escape(stage) << "\"><td>" << html_escape(stage) << "</td><td>" << fmt("%.2f", ms)
        << "</td><td><div style=\"background:#48c;height:10px;width:" << fmt("%.0f", total > 0 ? 200 * ms / total : 0)
        << "px\"></div></td></tr>\n";
    h << "</table>\n";
    if (run.bench.contains("images_per_s"))
      h << "<p class=\"note\">" << fmt("%.2f", run.bench["images_per_s"].get<double>()) << " images/s, "
        << run.bench.value("threads", 0) << " thread(s), model " << html_escape(run.bench.value("model", "")) << "</p>\n";
  }

  h << "<h2>Failures</h2>\n<ul id=\"failures\">\n";
  for (const auto& item : run.items)
    if (!item.error.empty())
      h << "<li class=\"failure\"><b>" << html_escape(item.source) << "</b>: " << html_escape(item.error) << "</li>\n";
  if (failed == 0) h << "<li>none</li>\n";
  h << "</ul>\n";

  h << "<h2>Results</h2>\n<div id=\"gallery\">\n";
  std::size_t shown = 0;
  for (const auto& item : run.items) {
    if (shown++ == o.max_items) {
      h << "<p class=\"note\">(" << run.items.size() - o.max_items << " more inputs not shown)</p>\n";
      break;
    }
    bool bad = !item.error.empty();
    h << "<figure class=\"item" << (bad ? " failed" : "") << "\" data-source=\"" << html_escape(item.source) << "\" data-task=\""
      << item.task << "\"><figcaption>" << html_escape(fs::path(item.source).filename().string()) << "</figcaption>\n";
    if (bad) {
      h << "<p class=\"failure\">failed: " << html_escape(item.error) << "</p>";
    } else {
      auto pics = pictures(item, o);
      if (pics.size() > 1) h << "<div class=\"frames\">";
      for (const auto& p : pics) h << "<img alt=\"" << html_escape(p.caption) << "\" title=\"" << html_escape(p.caption) << "\" src=\"" << p.uri << "\">";
      if (pics.size() > 1) h << "</div>";
      h << "\n" << results_table(item);
    }
    h << "<p class=\"note\">" << html_escape(item.source) << "</p></figure>\n";
  }
  h << "</div>\n<p class=\"note\">Generated by cvtool report.</p>\n</body></html>\n";
  return h.str();
}

}  // namespace cvtool
