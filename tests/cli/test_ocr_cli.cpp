// `cvtool ocr` end to end: stdout text, JSONL records, the -o artifacts and exit
// codes. Needs the PP-OCRv4 models (models/ppocrv4-*.pt, made by set-up) and fails
// without them. CVTOOL_OCR_MODEL_DIR points elsewhere for development.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_binary.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kOpencv = "/usr/share/doc/opencv-doc/examples/data/";

using cvtool::test::RunResult;
RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "cli-ocr"); }

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "ocr" plus --set flags pointing at the models; fails the test when they are absent.
std::string ocr_command() {
  const char* env = std::getenv("CVTOOL_OCR_MODEL_DIR");
  fs::path dir = env && *env ? fs::path(env) : fs::path(CVTOOL_SOURCE_DIR) / "models";
  for (const char* f : {"ppocrv4-det.pt", "ppocrv4-rec.pt", "ppocr_keys_v1.txt"}) {
    if (!fs::exists(dir / f)) {
      FAIL((dir / f).string() << " is missing (run scripts/fetch-models.sh)");
    }
  }
  return "ocr --threads 2 --set det.model=" + (dir / "ppocrv4-det.pt").string() +
         " --set rec.model=" + (dir / "ppocrv4-rec.pt").string() +
         " --set rec.dictionary=" + (dir / "ppocr_keys_v1.txt").string();
}

}  // namespace

TEST_CASE("ocr config errors exit 2 before any work") {
  auto r = run("ocr --set det.box_threshold=x " + kOpencv + "messi5.jpg");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("det.box_threshold: expected number, got string \"x\"") != std::string::npos);
}

TEST_CASE("ocr prints the text, or JSONL records with polygons") {
  std::string ocr = ocr_command();
  if (ocr.empty()) return;
  // messi5.jpg has two pieces of text on the advertising boards.
  auto plain = run(ocr + " " + kOpencv + "messi5.jpg");
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.out == "unicef\nWEEKmedia\n");

  auto r =
      run(ocr + " --jsonl " + kOpencv + "messi5.jpg " + kOpencv + "box.png /nonexistent/x.png");
  CHECK(r.exit_code == 1);  // the missing file fails alone
  std::istringstream lines(r.out);
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  REQUIRE(records.size() == 3);
  CHECK(records[0]["text"] == "unicef\nWEEKmedia");
  REQUIRE(records[0]["lines"].size() == 2);
  const auto& first = records[0]["lines"][0];
  CHECK(first["text"] == "unicef");
  CHECK(first["score"] > 0.9);
  REQUIRE(first["polygon"].size() == 4);
  // The "unicef" board text sits left of the middle, about 210..250 x 145..156.
  CHECK(first["polygon"][0][0].get<int>() == Approx(210).margin(4));
  CHECK(first["polygon"][2][1].get<int>() == Approx(156).margin(4));
  CHECK(records[1]["lines"].empty());  // box.png: no text, not an error
  CHECK(records[1]["text"] == "");
  CHECK(records[2].contains("error"));
}

TEST_CASE("ocr -o writes txt, Tesseract TSV, hOCR and an annotated image") {
  std::string ocr = ocr_command();
  if (ocr.empty()) return;
  auto dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "cli-ocr-out";
  fs::remove_all(dir);
  auto r = run(ocr + " -o " + dir.string() + " " + kOpencv + "messi5.jpg " + kOpencv + "box.png");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK(read_text(dir / "messi5.txt") == "unicef\nWEEKmedia\n");
  std::string tsv = read_text(dir / "messi5.tsv");
  CHECK(tsv.rfind("level\tpage_num\tblock_num\tpar_num\tline_num\tword_"
                  "num\tleft\ttop\twidth\theight\tconf\ttext\n"
                  "1\t1\t0\t0\t0\t0\t0\t0\t548\t342\t-1\t\n",
                  0) == 0);
  CHECK(tsv.find("\tunicef\n") != std::string::npos);
  std::string hocr = read_text(dir / "messi5.hocr");
  CHECK(hocr.find("class='ocr_page'") != std::string::npos);
  CHECK(hocr.find("class='ocr_line'") != std::string::npos);
  CHECK(hocr.find(">WEEKmedia</span>") != std::string::npos);
  CHECK(fs::file_size(dir / "messi5.jpg") > 1000);
  CHECK(read_text(dir / "box.txt").empty());  // processed, nothing found
  CHECK(fs::exists(dir / "box.tsv"));
}

TEST_CASE("ocr reads the words on real scene-text photos") {
  std::string ocr = ocr_command();
  if (ocr.empty()) return;
  // Photos from opencv-doc's examples/text/, transcribed by hand (scripts/bench/ocr_scene_gt.jsonl).
  const std::string text = "/usr/share/doc/opencv-doc/examples/text/";
  auto sign = run(ocr + " " + text + "scenetext_segmented_word03.jpg");
  REQUIRE(sign.exit_code == 0);
  CHECK(sign.out == "Customer\nFreephone\nPrivate Hire\nService\n");
  auto projector = run(ocr + " " + text + "scenetext_segmented_word05.jpg");
  CHECK(projector.out == "SANYO\nPROxtraX\nMULTIMEDIA PROJECTOR\n");
  for (const auto& [file, word] : std::vector<std::pair<std::string, std::string>>{
           {"scenetext_word01.jpg", "CHINA"}, {"scenetext_word02.jpg", "HERE"}, {"scenetext_word03.jpg", "riser"}}) {
    INFO(file);
    CHECK(run(ocr + " " + text + file).out == word + "\n");
  }
}
