#include <catch2/catch.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "test_helpers.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

TEST_CASE("atomic writes replace the file whole and leave no temp file") {
  auto dir = test::scratch_dir("atomic");
  write_file_atomic(dir / "deep" / "out.txt", "first");
  write_file_atomic(dir / "deep" / "out.txt", "second version");
  CHECK(test::read_bytes(dir / "deep" / "out.txt") == "second version");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir / "deep")) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("a failed atomic write names the path and leaves the old file") {
  auto dir = test::scratch_dir("atomic_fail");
  write_file_atomic(dir / "out.txt", "kept");
  fs::create_directories(dir / "blocked.txt");  // a directory where the file should go
  CHECK_THROWS_WITH(write_file_atomic(dir / "blocked.txt", "x"), Catch::Contains("blocked.txt: cannot rename into place"));
  CHECK(test::read_bytes(dir / "out.txt") == "kept");
}

TEST_CASE("output names are unique, safe and stable") {
  OutputNamer namer("out");
  CHECK(namer.stem_for("a/photo.jpg") == "photo");
  CHECK(namer.stem_for("b/photo.png") == "photo_2");
  CHECK(namer.stem_for("a/photo.jpg") == "photo");
  CHECK(namer.stem_for("../../etc/..passwd") == "_");  // stem "." made safe
  CHECK(namer.stem_for("x/we ird$name.jpg") == "we_ird_name");
  CHECK(namer.stem_for("clip.avi", 12) == "clip_000012");
  CHECK(namer.path_for("c/photo.jpg", ".jpg") == fs::path("out") / "photo_3.jpg");
}

TEST_CASE("an output path that is an input is refused") {
  auto dir = test::scratch_dir("protect");
  test::write_bytes(dir / "img.jpg", "x");
  OutputNamer namer(dir);
  namer.protect_input((dir / "img.jpg").string());
  CHECK_THROWS_WITH(namer.path_for((dir / "img.jpg").string(), ".jpg"), Catch::Contains("refusing to overwrite an input"));
}
