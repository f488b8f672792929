#include "cvtool/core/engine.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

// Runs closures one after another on one thread; push blocks when `depth` are waiting,
// which bounds the results held for writing. The first exception stops it and is
// rethrown by the next push or by finish().
class EmitQueue {
 public:
  EmitQueue(bool async, std::size_t depth) : async_(async), depth_(depth) {
    if (async_) thread_ = std::thread([this] { loop(); });
  }
  ~EmitQueue() { stop(); }

  void push(std::function<void()> fn) {
    if (!fn) return;
    if (!async_) {
      fn();
      return;
    }
    std::unique_lock<std::mutex> lock(m_);
    space_.wait(lock, [&] { return queue_.size() < depth_ || error_; });
    if (error_) std::rethrow_exception(error_);
    queue_.push_back(std::move(fn));
    work_.notify_one();
  }

  // Runs what is queued, joins, rethrows the first emit error.
  void finish() {
    stop();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(m_);
        work_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      try {
        fn();
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        error_ = std::current_exception();
        queue_.clear();
        space_.notify_all();
        return;
      }
    }
  }

  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(m_);
      closing_ = true;
    }
    work_.notify_all();
    thread_.join();
  }

  bool async_;
  std::size_t depth_;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable work_, space_;
  std::deque<std::function<void()>> queue_;
  bool closing_ = false;
  std::exception_ptr error_;
};

// Decode side: a reader thread pulls jobs from the source while fewer than `window`
// frames are held; workers run them; results wait in `done` until taken in order.
class DecodeWindow {
 public:
  DecodeWindow(const JobSource& source, std::size_t window, int workers) : source_(source), window_(window) {
    reader_ = std::thread([this] { read(); });
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  }
  ~DecodeWindow() { shut_down(); }

  // The next result in input order, or nullopt at the end. Rethrows a job's or the
  // source's exception.
  std::optional<FrameOrFailure> next() {
    std::unique_lock<std::mutex> lock(m_);
    ready_.wait(lock, [&] { return done_.count(next_) || error_ || (source_done_ && next_ == produced_); });
    if (error_) std::rethrow_exception(error_);
    auto it = done_.find(next_);
    if (it == done_.end()) return std::nullopt;
    FrameOrFailure out = std::move(it->second);
    done_.erase(it);
    ++next_;
    return out;
  }

  // Frames handed out by next() have been dropped: their room may be refilled.
  void release(std::size_t n) {
    std::lock_guard<std::mutex> lock(m_);
    in_flight_ -= n;
    space_.notify_one();
  }

  std::size_t max_in_flight() const { return max_in_flight_; }

  void shut_down() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stopping_ = true;
    }
    space_.notify_all();
    jobs_cv_.notify_all();
    if (reader_.joinable()) reader_.join();
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

 private:
  void read() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(m_);
        space_.wait(lock, [&] { return in_flight_ < window_ || stopping_; });
        if (stopping_) break;
        ++in_flight_;  // reserve before reading: a video frame is read right here
        max_in_flight_ = std::max(max_in_flight_, in_flight_);
      }
      std::optional<DecodeJob> job;
      try {
        job = source_();
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        fail(std::current_exception());
        break;
      }
      std::lock_guard<std::mutex> lock(m_);
      if (!job) {
        --in_flight_;
        break;
      }
      jobs_.emplace_back(produced_++, std::move(*job));
      jobs_cv_.notify_one();
    }
    std::lock_guard<std::mutex> lock(m_);
    source_done_ = true;
    jobs_cv_.notify_all();
    ready_.notify_all();
  }

  void work() {
    while (true) {
      std::pair<std::size_t, DecodeJob> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        jobs_cv_.wait(lock, [&] { return !jobs_.empty() || source_done_ || stopping_; });
        if (stopping_ || jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      try {
        FrameOrFailure result = job.second();
        std::lock_guard<std::mutex> lock(m_);
        done_.emplace(job.first, std::move(result));
        ready_.notify_one();
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        fail(std::current_exception());
        return;
      }
    }
  }

  // Under the lock.
  void fail(std::exception_ptr e) {
    if (!error_) error_ = e;
    stopping_ = true;
    ready_.notify_all();
    space_.notify_all();
    jobs_cv_.notify_all();
  }

  const JobSource& source_;
  const std::size_t window_;
  std::thread reader_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable space_, jobs_cv_, ready_;
  std::deque<std::pair<std::size_t, DecodeJob>> jobs_;
  std::map<std::size_t, FrameOrFailure> done_;
  std::size_t in_flight_ = 0, max_in_flight_ = 0, produced_ = 0, next_ = 0;
  bool source_done_ = false, stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace

EngineStats run_engine(const JobSource& source, const EngineOptions& options, const BatchFn& process,
                       const FailFn& fail) {
  const std::size_t batch = std::max<std::size_t>(1, options.batch);
  const int workers = std::max(1, options.workers);
  // Below batch + workers the batch could never fill while the workers are busy.
  const std::size_t window =
      std::max(options.window == 0 ? 2 * batch + std::size_t(workers) : options.window, batch);
  EngineStats stats;
  // Declared first so it is destroyed last: the decode threads stop before the emits end.
  EmitQueue emits(options.async_emit, 2);
  DecodeWindow decoded(source, window, workers);

  std::vector<Frame> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    std::function<void()> emit = process(pending);
    ++stats.batches;
    stats.frames += pending.size();
    std::size_t n = pending.size();
    pending.clear();  // `emit` holds what it still needs
    decoded.release(n);
    emits.push(std::move(emit));
  };
  while (auto next = decoded.next()) {
    if (!next->ok()) {
      flush();
      ++stats.failures;
      decoded.release(1);
      emits.push([&fail, source = next->frame.source, error = next->error] { fail(source, error); });
      continue;
    }
    pending.push_back(std::move(next->frame));
    if (pending.size() >= batch) flush();
  }
  flush();
  decoded.shut_down();
  emits.finish();
  stats.max_in_flight = decoded.max_in_flight();
  return stats;
}

JobSource frame_jobs(std::vector<InputItem> items, SourceOptions options) {
  struct State {
    std::vector<InputItem> items;
    SourceOptions options;
    std::size_t next = 0;
    std::unique_ptr<FrameStream> video;
  };
  auto state = std::make_shared<State>();
  state->items = std::move(items);
  state->options = options;
  return [state]() -> std::optional<DecodeJob> {
    State& s = *state;
    while (true) {
      if (s.video) {
        if (auto frame = s.video->next()) {
          auto shared = std::make_shared<FrameOrFailure>(std::move(*frame));
          return DecodeJob([shared] { return std::move(*shared); });
        }
        s.video.reset();
      }
      if (s.next >= s.items.size()) return std::nullopt;
      const InputItem item = s.items[s.next++];
      if (!item.error.empty() || item.kind == InputKind::Video) {
        // FrameStream turns a known-bad item into its failure and reads a video in order.
        s.video = std::make_unique<FrameStream>(std::vector<InputItem>{item}, s.options);
        continue;
      }
      DecodeLimits limits = s.options.limits;
      return DecodeJob([item, limits]() -> FrameOrFailure {
        try {
          return {{item.path, -1, decode_image(item.path, limits)}, ""};
        } catch (const Error& e) {
          return {{item.path, -1, {}}, e.what()};
        }
      });
    }
  };
}

}  // namespace cvtool
