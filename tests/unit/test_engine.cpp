// The pipelined engine: input order, failures in order, a bounded window, exceptions
// that stop the run, and the thread budget. Jobs make tiny frames with their index in
// pixel (0,0) and sleep a little, out of step, so workers really finish out of order.
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "cvtool/core/engine.hpp"
#include "cvtool/core/runtime.hpp"

using namespace cvtool;

namespace {

// Items 0..n-1; those in `bad` come back as failures.
JobSource numbered_jobs(int n, std::vector<int> bad = {}, std::atomic<int>* produced = nullptr) {
  auto next = std::make_shared<int>(0);
  return [=]() -> std::optional<DecodeJob> {
    if (*next >= n) return std::nullopt;
    int i = (*next)++;
    if (produced) ++*produced;
    bool fails = std::find(bad.begin(), bad.end(), i) != bad.end();
    return DecodeJob([i, fails]() -> FrameOrFailure {
      std::this_thread::sleep_for(std::chrono::microseconds(((i * 7) % 5) * 300));
      std::string name = "item" + std::to_string(i);
      if (fails) return {{name, -1, {}}, name + ": bad"};
      return {{name, -1, cv::Mat(1, 1, CV_32S, cv::Scalar(i))}, ""};
    });
  };
}

int index_of(const Frame& f) { return f.image.at<int>(0, 0); }

struct Recorder {
  std::mutex m;
  std::vector<std::string> events;  // "ok N" / "fail itemN", in emit order
  std::vector<std::size_t> batch_sizes;
  void add(std::string e) {
    std::lock_guard<std::mutex> lock(m);
    events.push_back(std::move(e));
  }
};

EngineStats run_recorded(Recorder& rec, const JobSource& jobs, EngineOptions options) {
  return run_engine(
      jobs, options,
      [&](std::vector<Frame>& frames) -> std::function<void()> {
        rec.batch_sizes.push_back(frames.size());
        std::vector<int> ids;
        for (const auto& f : frames) ids.push_back(index_of(f));
        return [&rec, ids] {
          for (int i : ids) rec.add("ok " + std::to_string(i));
        };
      },
      [&](const std::string& source, const std::string&) { rec.add("fail " + source); });
}

}  // namespace

TEST_CASE("engine: results come out in input order, whatever order the workers finish in") {
  for (bool async : {true, false}) {
    Recorder rec;
    EngineOptions options;
    options.batch = 4;
    options.workers = 3;
    options.async_emit = async;
    EngineStats stats = run_recorded(rec, numbered_jobs(50), options);
    std::vector<std::string> expected;
    for (int i = 0; i < 50; ++i) expected.push_back("ok " + std::to_string(i));
    CHECK(rec.events == expected);
    CHECK(stats.frames == 50);
    CHECK(stats.batches == 13);  // 12 full batches of 4 and one of 2
    CHECK(rec.batch_sizes.back() == 2);
  }
}

TEST_CASE("engine: failures come out in input order and flush the partial batch before them") {
  Recorder rec;
  EngineOptions options;
  options.batch = 3;
  options.workers = 2;
  EngineStats stats = run_recorded(rec, numbered_jobs(9, {1, 5, 6}), options);
  CHECK(rec.events == std::vector<std::string>{"ok 0", "fail item1", "ok 2", "ok 3", "ok 4", "fail item5",
                                               "fail item6", "ok 7", "ok 8"});
  CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 3, 2});
  CHECK(stats.failures == 3);
  CHECK(stats.frames == 6);
}

TEST_CASE("engine: no more than `window` frames are held, however many inputs there are") {
  std::atomic<int> produced{0}, finished{0}, most_held{0};
  EngineOptions options;
  options.batch = 4;
  options.workers = 2;
  options.window = 6;
  auto jobs = numbered_jobs(400, {}, &produced);
  // Counts frames created but not yet through the model each time a new one is made.
  JobSource counting = [&]() -> std::optional<DecodeJob> {
    auto job = jobs();
    int held = produced.load() - finished.load();
    int prev = most_held.load();
    while (held > prev && !most_held.compare_exchange_weak(prev, held)) {
    }
    return job;
  };
  EngineStats stats = run_engine(
      counting, options,
      [&](std::vector<Frame>& frames) -> std::function<void()> {
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // a slow model
        finished += int(frames.size());
        return {};
      },
      [](const std::string&, const std::string&) {});
  CHECK(stats.frames == 400);
  CHECK(most_held.load() <= 6);
  CHECK(stats.max_in_flight == 6);  // the decoders ran ahead as far as allowed, no further
}

TEST_CASE("engine: an exception in any stage stops the run and reaches the caller") {
  EngineOptions options;
  options.batch = 2;
  options.workers = 2;
  auto ignore_fail = [](const std::string&, const std::string&) {};
  auto no_emit = [](std::vector<Frame>&) -> std::function<void()> { return {}; };

  SECTION("a decode job") {
    auto inner = numbered_jobs(100);
    auto count = std::make_shared<int>(0);
    JobSource jobs = [=]() -> std::optional<DecodeJob> {
      auto job = inner();
      if (job && (*count)++ == 7) return DecodeJob([]() -> FrameOrFailure { throw std::runtime_error("job 7"); });
      return job;
    };
    CHECK_THROWS_WITH(run_engine(jobs, options, no_emit, ignore_fail), "job 7");
  }
  SECTION("the source") {
    auto inner = numbered_jobs(100);
    auto count = std::make_shared<int>(0);
    JobSource jobs = [=]() -> std::optional<DecodeJob> {
      if ((*count)++ == 11) throw std::runtime_error("source 11");
      return inner();
    };
    CHECK_THROWS_WITH(run_engine(jobs, options, no_emit, ignore_fail), "source 11");
  }
  SECTION("the model call") {
    int batches = 0;
    auto process = [&](std::vector<Frame>&) -> std::function<void()> {
      if (++batches == 3) throw std::runtime_error("model");
      return {};
    };
    CHECK_THROWS_WITH(run_engine(numbered_jobs(100), options, process, ignore_fail), "model");
    CHECK(batches == 3);
  }
  SECTION("an emit, and nothing is emitted after it") {
    std::vector<int> emitted;
    auto process = [&](std::vector<Frame>& frames) -> std::function<void()> {
      int first = index_of(frames[0]);
      return [&emitted, first] {
        if (first == 10) throw std::runtime_error("emit 10");
        emitted.push_back(first);
      };
    };
    CHECK_THROWS_WITH(run_engine(numbered_jobs(100), options, process, ignore_fail), "emit 10");
    CHECK(emitted == std::vector<int>{0, 2, 4, 6, 8});
  }
}

TEST_CASE("engine: frame_jobs decodes images on the workers and reports bad inputs in place") {
  const std::string data = "/usr/share/doc/opencv-doc/examples/data/";
  std::vector<InputItem> items = {{data + "messi5.jpg", InputKind::Image, ""},
                                  {"/nonexistent/x.jpg", InputKind::Image, "/nonexistent/x.jpg: no such file"},
                                  {data + "box.png", InputKind::Image, ""},
                                  {data + "vtest.avi", InputKind::Video, ""},
                                  {data + "fruits.jpg", InputKind::Image, ""}};
  SourceOptions source;
  source.max_video_frames = 3;
  std::vector<std::string> seen;
  EngineOptions options;
  options.batch = 2;
  options.workers = 2;
  run_engine(
      frame_jobs(items, source), options,
      [&](std::vector<Frame>& frames) -> std::function<void()> {
        for (const auto& f : frames)
          seen.push_back(f.source.substr(f.source.rfind('/') + 1) + "#" + std::to_string(f.index) + " " +
                         std::to_string(f.image.cols) + "x" + std::to_string(f.image.rows));
        return {};
      },
      [&](const std::string& source, const std::string& error) { seen.push_back("fail " + source + " " + error); });
  CHECK(seen == std::vector<std::string>{"messi5.jpg#-1 548x342", "fail /nonexistent/x.jpg /nonexistent/x.jpg: no such file",
                                         "box.png#-1 324x223", "vtest.avi#0 768x576", "vtest.avi#1 768x576",
                                         "vtest.avi#2 768x576", "fruits.jpg#-1 512x480"});
}

TEST_CASE("runtime: the thread budget never gives the model more cores than asked and keeps a decoder") {
  ThreadBudget all2 = plan_threads(0, 2);
  CHECK(all2.intra_op == 2);
  CHECK(all2.opencv == 2);
  CHECK(all2.decode_workers == 1);
  ThreadBudget one_of2 = plan_threads(1, 2);
  CHECK(one_of2.intra_op == 1);
  CHECK(one_of2.decode_workers == 1);
  ThreadBudget two_of8 = plan_threads(2, 8);
  CHECK(two_of8.intra_op == 2);
  CHECK(two_of8.decode_workers == 4);  // capped: decoding never needs more
  CHECK(plan_threads(0, 0).intra_op == 1);
}
