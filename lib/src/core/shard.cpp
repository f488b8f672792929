#include "cvtool/core/shard.hpp"

#include <cctype>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

bool parse_count(const std::string& s, std::size_t& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  out = std::stoul(s);
  return true;
}

}  // namespace

ShardSpec parse_shard(const std::string& text) {
  auto slash = text.find('/');
  ShardSpec spec;
  if (slash == std::string::npos || !parse_count(text.substr(0, slash), spec.index) ||
      !parse_count(text.substr(slash + 1), spec.count) || spec.count == 0 || spec.index >= spec.count)
    throw Error(ErrorKind::Usage, "--shard " + text + ": expected i/N with 0 <= i < N (e.g. 0/4)");
  return spec;
}

std::pair<std::size_t, std::size_t> shard_range(std::size_t total, const ShardSpec& spec) {
  // Shard i owns [i*total/N, (i+1)*total/N): sizes differ by at most one.
  auto bound = [&](std::size_t i) { return static_cast<std::size_t>((unsigned long long)total * i / spec.count); };
  return {bound(spec.index), bound(spec.index + 1)};
}

}  // namespace cvtool
