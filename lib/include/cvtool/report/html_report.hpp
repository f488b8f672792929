#pragma once
// One self-contained HTML page for a run: summary, counts per class, timing per
// stage, failures, and a gallery of annotated images (embedded as data URIs,
// downscaled) with each input's results.
#include <string>
#include <vector>

#include "cvtool/report/run_summary.hpp"

namespace cvtool {

struct HtmlReportOptions {
  std::string title;          // default: "cvtool report: <run dir>"
  int max_side = 480;         // gallery images are downscaled to fit this
  int jpeg_quality = 80;
  int frames_per_video = 3;   // first, middle, last processed frame
  std::size_t max_items = 500;  // gallery entries; the summary counts everything
};

std::string html_report(const RunSummary& run, const HtmlReportOptions& options = {});

// HTML-escapes text for element content and attribute values.
std::string html_escape(const std::string& text);

// Base64 (RFC 4648, with padding), for data URIs.
std::string base64_encode(const std::vector<unsigned char>& bytes);

}  // namespace cvtool
