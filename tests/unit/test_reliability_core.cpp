// The pieces under --shard and --resume: block partition, manifest durability rules,
// stems that depend only on the input list.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cvtool/core/error.hpp"
#include "cvtool/core/manifest.hpp"
#include "cvtool/core/shard.hpp"
#include "cvtool/core/sink.hpp"

namespace fs = std::filesystem;
using namespace cvtool;

TEST_CASE("shard: i/N parses strictly") {
  CHECK(parse_shard("0/1").count == 1);
  CHECK(parse_shard("3/8").index == 3);
  for (const char* bad : {"", "1", "8/8", "-1/4", "1/0", "a/4", "1/4x", "1/ 4", "/4", "1/"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_shard(bad), Error);
  }
}

TEST_CASE("shards partition a list into contiguous blocks differing by at most one") {
  for (std::size_t total : {0u, 1u, 7u, 10u, 10000u}) {
    for (std::size_t n : {1u, 2u, 3u, 8u, 13u}) {
      std::size_t expected_first = 0, smallest = total, largest = 0;
      for (std::size_t i = 0; i < n; ++i) {
        auto [first, last] = shard_range(total, {i, n});
        CHECK(first == expected_first);
        expected_first = last;
        smallest = std::min(smallest, last - first);
        largest = std::max(largest, last - first);
      }
      CHECK(expected_first == total);
      CHECK(largest - smallest <= 1);
    }
  }
  CHECK(shard_range(10, {2, 3}) == std::make_pair<std::size_t, std::size_t>(6, 10));
}

TEST_CASE("the manifest survives a torn last line and a restart") {
  auto dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "manifest";
  fs::remove_all(dir);
  {
    Manifest m(dir, false);
    m.mark_done("a.jpg", {{"coco", {1, 2}}});
    m.mark_done("b.jpg");
  }
  std::ofstream(dir / Manifest::kFileName, std::ios::app) << "{\"source\": \"c.j";  // killed mid-append
  std::ofstream(dir / "x.jpg.tmp.1234") << "half";
  std::ofstream(dir / "keep.tmp.txt") << "not ours";
  {
    Manifest m(dir, true);
    CHECK(m.done_count() == 2);
    CHECK(m.done("a.jpg"));
    CHECK(m.done("b.jpg"));
    CHECK(!m.done("c.jpg"));
    CHECK(m.payload("a.jpg")["coco"] == nlohmann::json({1, 2}));
    CHECK(m.payload("b.jpg").is_null());
    m.mark_done("c.jpg");
  }
  CHECK(!fs::exists(dir / "x.jpg.tmp.1234"));
  CHECK(fs::exists(dir / "keep.tmp.txt"));
  Manifest again(dir, true);
  CHECK(again.done_count() == 3);
  Manifest fresh(dir, false);
  CHECK(fresh.done_count() == 0);
  CHECK(fs::file_size(dir / Manifest::kFileName) == 0);
}

TEST_CASE("output stems depend only on the input list, in its order") {
  OutputNamer a("out"), b("out");
  for (const char* p : {"x/cat.jpg", "y/cat.jpg", "z/cat.png"}) a.protect_input(p);
  for (const char* p : {"x/cat.jpg", "y/cat.jpg", "z/cat.png"}) b.protect_input(p);
  // Run b asks in another order (as a shard or a resumed run would): same names.
  CHECK(b.stem_for("z/cat.png") == "cat_3");
  CHECK(b.stem_for("y/cat.jpg") == "cat_2");
  CHECK(a.stem_for("x/cat.jpg") == "cat");
  CHECK(a.stem_for("y/cat.jpg") == "cat_2");
  CHECK(a.path_for("../../etc/passwd", ".jpg") == fs::path("out") / "passwd.jpg");
  CHECK(sanitize_stem("..") == "_.");
  CHECK(sanitize_stem("a b\nc;rm") == "a_b_c_rm");
  CHECK(sanitize_stem("-rf") == "_rf");
}
