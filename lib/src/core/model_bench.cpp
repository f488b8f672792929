#include "cvtool/core/model_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/forward_timing.hpp"
#include "cvtool/core/model.hpp"

namespace cvtool {

namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// Image area of a 4-D input: NCHW when dimension 1 looks like channels, else NHWC.
double image_area(const std::vector<long long>& s) {
  if (s.size() != 4) return 0;
  bool nchw = s[1] <= 4 && s[3] > 4;
  return nchw ? double(s[2] * s[3]) : double(s[1] * s[2]);
}

}  // namespace

ModelBenchResult bench_model(const ModelBenchOptions& o) {
  ModelOptions mo;
  mo.device = o.device;
  mo.freeze = o.freeze;
  mo.optimize_for_inference = o.optimize_for_inference;
  mo.channels_last = o.channels_last;
  mo.graph_optimize = o.graph_optimize;
  ModelBenchResult r;
  Model model(o.path, mo);
  r.load_ms = model.load_ms();
  // Fixed pseudo-random input in the 0..1 range (the values do not change the work).
  torch::manual_seed(0);
  torch::Tensor x = torch::rand(std::vector<int64_t>(o.shape.begin(), o.shape.end()));
  auto t = std::chrono::steady_clock::now();
  model.forward(x);
  r.first_call_ms = ms_since(t);
  for (int i = 1; i < o.warmup; ++i) model.forward(x);
  for (int i = 0; i < o.runs; ++i) {
    t = std::chrono::steady_clock::now();
    model.forward(x);
    r.call_ms.push_back(ms_since(t));
  }
  return r;
}

std::optional<double> model_gflop(const std::filesystem::path& model, const std::vector<long long>& shape) {
  std::filesystem::path file = model;
  file.replace_extension(".flops.json");
  std::ifstream in(file);
  if (!in) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Model, file.string() + ": malformed JSON: " + e.what());
  }
  auto ref = j.at("input").get<std::vector<long long>>();
  double gflop = j.at("gflop").get<double>();
  double ref_area = image_area(ref), area = image_area(shape);
  double scale = ref_area > 0 && area > 0 ? area / ref_area : 1.0;
  double batch = shape.empty() ? 1.0 : double(shape[0]) / double(ref.empty() ? 1 : ref[0]);
  return gflop * scale * batch;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t rank = std::size_t(std::ceil(p / 100.0 * double(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0;
}

double median_forward_ms(Model& model, const torch::Tensor& input, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) model.forward(input);
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, runs); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    model.forward(input);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace cvtool
