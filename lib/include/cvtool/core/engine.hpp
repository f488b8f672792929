#pragma once
// The pipelined executor every task command runs on. Inputs are decoded on worker
// threads into a bounded window (memory stays flat on any number of inputs), handed to
// the model in batches on the calling thread, and what the batch call returns (writing
// results) runs on an emit thread, in input order, while the next batch is in the model.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cvtool/core/source.hpp"

namespace cvtool {

struct EngineOptions {
  std::size_t batch = 1;   // frames per model call (a failure flushes a partial batch)
  int workers = 1;         // decode threads
  std::size_t window = 0;  // frames decoded but not yet through the model; 0: 2*batch + workers
  bool async_emit = true;  // run emit continuations on their own thread
};

// Decodes one input on a worker; a bad input comes back as a failure, not a throw.
using DecodeJob = std::function<FrameOrFailure()>;
// Called in order on the engine's reader thread; nullopt ends the stream.
using JobSource = std::function<std::optional<DecodeJob>()>;
// Runs the model over one batch on the calling thread and returns what emits its
// results (may be empty); that runs later, on the emit thread, in input order.
using BatchFn = std::function<std::function<void()>(std::vector<Frame>&)>;
// Reports one bad input; runs in input order with the emits.
using FailFn = std::function<void(const std::string& source, const std::string& error)>;

struct EngineStats {
  std::size_t frames = 0, failures = 0, batches = 0;
  std::size_t max_in_flight = 0;  // the most frames held at once (<= window)
};

// Runs the pipeline to the end. An exception thrown by a job, `process`, an emit or
// `fail` stops every stage and is rethrown here once all threads are joined.
EngineStats run_engine(const JobSource& source, const EngineOptions& options, const BatchFn& process,
                       const FailFn& fail);

// Jobs for the inputs: each image is decoded on a worker; video frames are read in order
// on the reader thread (a video decodes sequentially) and pass through the window too.
JobSource frame_jobs(std::vector<InputItem> items, SourceOptions options);

}  // namespace cvtool
