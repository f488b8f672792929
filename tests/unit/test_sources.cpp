#include <catch2/catch.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"
#include "test_helpers.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const char* kSkimageData = "/usr/lib/python3/dist-packages/skimage/data/";
const char* kOpencvData = "/usr/share/doc/opencv-doc/examples/data/";

std::string decode_error(const fs::path& path, DecodeLimits limits = {}) {
  try {
    decode_image(path, limits);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Input);
    return e.what();
  }
  return "";
}

// A PNG whose IHDR claims the given size, with no pixel data behind it.
std::string png_header(std::uint32_t w, std::uint32_t h) {
  std::string b = "\x89PNG\r\n\x1A\n";
  b += std::string("\0\0\0\x0D", 4) + "IHDR";
  for (std::uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) b += char((v >> s) & 0xFF);
  b += std::string("\x08\x02\0\0\0", 5) + std::string(4, '\0');
  return b;
}

}  // namespace

TEST_CASE("real images decode to 8-bit BGR of the right size") {
  cv::Mat img = decode_image(std::string(kSkimageData) + "chelsea.png");
  CHECK(img.type() == CV_8UC3);
  CHECK(img.cols == 451);
  CHECK(img.rows == 300);
  cv::Mat gray = decode_image(std::string(kSkimageData) + "camera.png");  // grayscale PNG
  CHECK(gray.type() == CV_8UC3);
}

TEST_CASE("bad inputs fail with a message naming the file and the problem") {
  auto dir = test::scratch_dir("bad_inputs");
  test::write_bytes(dir / "empty.jpg", "");
  test::write_bytes(dir / "notes.jpg", "this is a text file, not a JPEG\n");
  test::write_bytes(dir / "bomb.png", png_header(100000, 100000));
  CHECK(decode_error(dir / "empty.jpg") == (dir / "empty.jpg").string() + ": empty file");
  CHECK(decode_error(dir / "notes.jpg") == (dir / "notes.jpg").string() + ": not a decodable image");
  CHECK(decode_error(dir / "bomb.png") ==
        (dir / "bomb.png").string() + ": image is 100000x100000 (10000000000 pixels), over the limit of 100000000");
  CHECK(decode_error(std::string(kSkimageData) + "truncated.jpg") ==
        std::string(kSkimageData) + "truncated.jpg: JPEG data ends before its end-of-image marker (truncated file)");
  CHECK(decode_error(dir / "missing.png") == (dir / "missing.png").string() + ": cannot open file");
}

TEST_CASE("the pixel limit is configurable") {
  auto path = std::string(kSkimageData) + "chelsea.png";  // 451 x 300
  CHECK(decode_error(path, {135300}).empty());
  CHECK_THAT(decode_error(path, {135299}), Catch::Contains("451x300 (135300 pixels), over the limit of 135299"));
}

TEST_CASE("a truncated PNG is caught before decoding") {
  auto dir = test::scratch_dir("truncated_png");
  std::string full = test::read_bytes(std::string(kSkimageData) + "chelsea.png");
  test::write_bytes(dir / "half.png", full.substr(0, full.size() / 2));
  CHECK_THAT(decode_error(dir / "half.png"), Catch::Contains("PNG data ends before its IEND chunk"));
}

TEST_CASE("header sniffing reads sizes without decoding") {
  CHECK(sniff_image_size(test::read_bytes(std::string(kOpencvData) + "messi5.jpg")) == cv::Size(548, 342));
  CHECK(sniff_image_size(test::read_bytes(std::string(kSkimageData) + "astronaut.png")) == cv::Size(512, 512));
  CHECK(!sniff_image_size("plain text"));
}

TEST_CASE("enumeration expands folders sorted, lists, globs and stdin, and flags missing paths") {
  auto dir = test::scratch_dir("enumerate");
  for (const char* name : {"b.jpg", "a.png", "sub/c.jpeg", "notes.txt", "clip.avi"}) test::write_bytes(dir / name, "x");
  auto items = enumerate_inputs({dir.string()});
  REQUIRE(items.size() == 4);
  CHECK(items[0].path == (dir / "a.png").string());
  CHECK(items[1].path == (dir / "b.jpg").string());
  CHECK(items[2].path == (dir / "clip.avi").string());
  CHECK(items[2].kind == InputKind::Video);
  CHECK(items[3].path == (dir / "sub/c.jpeg").string());

  test::write_bytes(dir / "list.txt", "b.jpg\n# comment\n\nsub/c.jpeg\nmissing.jpg\n");
  auto listed = enumerate_inputs({"@" + (dir / "list.txt").string()});
  REQUIRE(listed.size() == 3);
  CHECK(listed[0].path == (dir / "b.jpg").string());
  CHECK(listed[1].error.empty());
  CHECK(listed[2].error == (dir / "missing.jpg").string() + ": no such file");

  auto globbed = enumerate_inputs({(dir / "*.jpg").string()});
  REQUIRE(globbed.size() == 1);
  CHECK(globbed[0].path == (dir / "b.jpg").string());

  std::istringstream in((dir / "a.png").string() + "\n" + (dir / "b.jpg").string() + "\n");
  auto from_stdin = enumerate_inputs({"-"}, &in);
  REQUIRE(from_stdin.size() == 2);
  CHECK(from_stdin[1].path == (dir / "b.jpg").string());
}

TEST_CASE("a frame stream goes on past bad inputs") {
  auto dir = test::scratch_dir("stream");
  test::write_bytes(dir / "empty.jpg", "");
  std::vector<InputItem> items = enumerate_inputs(
      {std::string(kSkimageData) + "chelsea.png", (dir / "empty.jpg").string(), std::string(kSkimageData) + "coffee.png"});
  FrameStream stream(items, {});
  std::vector<std::string> seen;
  while (auto next = stream.next()) seen.push_back(next->ok() ? "ok" : next->error);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == "ok");
  CHECK(seen[1] == (dir / "empty.jpg").string() + ": empty file");
  CHECK(seen[2] == "ok");
}

TEST_CASE("video frames come with their index, every Nth with a stride") {  // vtest.avi: 795 frames
  auto items = enumerate_inputs({std::string(kOpencvData) + "vtest.avi"});
  SourceOptions options;
  options.vid_stride = 100;
  FrameStream stream(items, options);
  std::vector<std::int64_t> indices;
  while (auto next = stream.next()) {
    REQUIRE(next->ok());
    CHECK(next->frame.image.size() == cv::Size(768, 576));
    indices.push_back(next->frame.index);
  }
  CHECK(indices == std::vector<std::int64_t>{0, 100, 200, 300, 400, 500, 600, 700});
}

TEST_CASE("EXIF orientation is applied: a JPEG tagged 'rotate 90' decodes upright") {
  // messi5.jpg (548x342) with an APP1 EXIF segment inserted after SOI saying orientation 6.
  std::string jpeg = test::read_bytes(std::string(kOpencvData) + "messi5.jpg");
  std::string tiff = std::string("MM\0\x2a\0\0\0\x08", 8) + std::string("\0\x01", 2) +
                     std::string("\x01\x12\0\x03\0\0\0\x01\0\x06\0\0", 12) + std::string(4, '\0');
  std::string payload = std::string("Exif\0\0", 6) + tiff;
  std::size_t length = payload.size() + 2;
  std::string app1 = std::string("\xFF\xE1", 2) + char(length >> 8) + char(length & 0xFF) + payload;
  auto dir = test::scratch_dir("exif");
  test::write_bytes(dir / "rotated.jpg", jpeg.substr(0, 2) + app1 + jpeg.substr(2));
  cv::Mat upright = decode_image(std::string(kOpencvData) + "messi5.jpg");
  cv::Mat rotated = decode_image(dir / "rotated.jpg");
  CHECK(rotated.size() == cv::Size(342, 548));
  // Orientation 6 means the stored image must be turned 90 degrees clockwise to display.
  cv::Mat expected;
  cv::rotate(upright, expected, cv::ROTATE_90_CLOCKWISE);
  CHECK(cv::norm(rotated, expected, cv::NORM_INF) == 0);
}
