#pragma once
// Splitting one input list across machines: `--shard i/N` keeps a contiguous block of
// the expanded, ordered input list. Blocks (not round-robin, not hashes) make the
// shards' results, concatenated in shard order, exactly the single-process results,
// and block sizes differ by at most one input.
#include <cstddef>
#include <string>
#include <utility>

namespace cvtool {

struct ShardSpec {
  std::size_t index = 0;  // 0-based
  std::size_t count = 1;
};

// Parses "i/N" with 0 <= i < N; throws Error(Usage) naming the text otherwise.
ShardSpec parse_shard(const std::string& text);

// The half-open range [first, last) of a list of `total` items that shard `spec` owns.
std::pair<std::size_t, std::size_t> shard_range(std::size_t total, const ShardSpec& spec);

}  // namespace cvtool
