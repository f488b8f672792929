// `cvtool bench track`: multi-object association alone (ByteTracker::update), on synthetic
// detections made in memory, apart from process start-up, decoding and detection.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <random>

#include "cli.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/track/byte_tracker.hpp"

namespace cvtool::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchTrackOptions {
  int objects = 50;
  int frames = 2000;
  int runs = 3;
  unsigned seed = 1;
  bool jsonl = false;
};

// Objects walking across a 1920x1080 frame with 3% box noise and 5% misses; one that
// leaves re-enters from the other side as a new object. All score high, so every track
// goes through the first, full-size assignment.
std::vector<std::vector<Detection>> synthetic_detections(const BenchTrackOptions& o) {
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::normal_distribution<float> noise(0, 1);
  struct Obj {
    float x, y, w, h, vx, vy;
  };
  auto spawn = [&](bool anywhere) {
    float w = 20 + 40 * u(rng);
    float vx = (1 + 4 * u(rng)) * (u(rng) < 0.5f ? -1 : 1);
    float x = anywhere ? 1900 * u(rng) : (vx > 0 ? -w : 1920.f);
    return Obj{x, 1000 * u(rng), w, 2.5f * w, vx, noise(rng) * 0.5f};
  };
  std::vector<Obj> objs;
  for (int i = 0; i < o.objects; ++i) objs.push_back(spawn(true));
  std::vector<std::vector<Detection>> frames(std::size_t(o.frames));
  for (auto& dets : frames) {
    for (auto& ob : objs) {
      ob.x += ob.vx;
      ob.y += ob.vy;
      if (ob.x < -ob.w - 1 || ob.x > 1921) ob = spawn(false);
      if (u(rng) < 0.05f) continue;
      float s = 0.03f * ob.w;
      Detection d;
      d.label = "object";
      d.score = 0.6f + 0.35f * u(rng);
      d.box = {ob.x + s * noise(rng), ob.y + s * noise(rng), ob.x + ob.w + s * noise(rng), ob.y + ob.h + s * noise(rng)};
      dets.push_back(d);
    }
  }
  return frames;
}

// CPU time of this thread: on a shared, loaded machine the wall clock also counts waiting.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t rank = std::size_t(std::ceil(p / 100.0 * double(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

int run_bench_track(const BenchTrackOptions& opts) {
  auto frames = synthetic_detections(opts);
  std::size_t boxes = 0;
  for (const auto& f : frames) boxes += f.size();
  std::vector<double> frame_ms;
  double total_ms = 0;
  std::size_t tracks_out = 0;
  const double cpu_start = thread_cpu_ms();
  for (int r = 0; r < opts.runs; ++r) {
    ByteTracker tracker;  // ByteTrack's defaults; a fresh tracker per run
    for (const auto& dets : frames) {
      auto t0 = Clock::now();
      tracks_out += tracker.update(dets).size();
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      frame_ms.push_back(ms);
      total_ms += ms;
    }
  }
  const double cpu_ms = thread_cpu_ms() - cpu_start;
  const double n = double(frame_ms.size());
  const double fps = n / (total_ms / 1000.0), cpu_fps = n / (cpu_ms / 1000.0);
  auto r3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  if (opts.jsonl) {
    JsonlWriter writer(std::cout);
    writer.write({{"task", "track"},
                  {"objects", opts.objects},
                  {"frames", opts.frames},
                  {"runs", opts.runs},
                  {"detections_per_frame", r3(double(boxes) / double(frames.size()))},
                  {"tracks_per_frame", r3(double(tracks_out) / n)},
                  {"frames_per_s", std::round(fps)},
                  {"frames_per_cpu_s", std::round(cpu_fps)},
                  {"ms_per_frame",
                   {{"mean", r3(total_ms / n)}, {"p50", r3(percentile(frame_ms, 50))}, {"p95", r3(percentile(frame_ms, 95))}}}});
    return kExitOk;
  }
  std::printf("association only: %d objects, %.1f detections/frame, %d frames x %d run(s), one thread\n", opts.objects,
              double(boxes) / double(frames.size()), opts.frames, opts.runs);
  std::printf("%.0f frames/s wall (%.0f per CPU-second); ms per frame mean %.4f, p50 %.4f, p95 %.4f; "
              "%.1f confirmed tracks/frame\n",
              fps, cpu_fps, total_ms / n, percentile(frame_ms, 50), percentile(frame_ms, 95), double(tracks_out) / n);
  return kExitOk;
}

}  // namespace

std::function<int()> setup_bench_track(CLI::App* cmd) {
  auto opts = std::make_shared<BenchTrackOptions>();
  cmd->add_option("--objects", opts->objects, "Objects on screen per frame")->check(CLI::PositiveNumber);
  cmd->add_option("--frames", opts->frames, "Frames per run")->check(CLI::PositiveNumber);
  cmd->add_option("--runs", opts->runs, "Timed runs (a fresh tracker each)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed, "Seed of the synthetic scene");
  cmd->add_flag("--jsonl", opts->jsonl, "One JSON record on stdout");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool bench track\n"
      "  cvtool bench track --objects 200 --frames 500 --jsonl\n");
  return [opts] { return run_bench_track(*opts); };
}

}  // namespace cvtool::cli
