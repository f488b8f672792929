// `cvtool config` and `cvtool report` end to end, the config reference being current,
// and every subcommand's --help ending with examples.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "../cli/run_binary.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

cvtool::test::RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "eco"); }

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "eco" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<Json> jsonl(const fs::path& p) {
  std::vector<Json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

const std::string kSrc = CVTOOL_SOURCE_DIR;
const std::string kData = "/usr/share/doc/opencv-doc/examples/data/";

}  // namespace

TEST_CASE("config show prints the effective config after --set") {
  auto r = run("config show detect --set post.score_threshold=0.5");
  REQUIRE(r.exit_code == 0);
  Json c = Json::parse(r.out);
  CHECK(c["task"] == "detect");
  CHECK(c["post"]["score_threshold"] == 0.5);  // --set
  CHECK(c["post"]["nms_iou"] == 0.4);          // detect-centernet.json
  CHECK(c["runtime"]["warmup"] == 1);          // schema default
  CHECK(fs::path(c["model"]["path"].get<std::string>()).is_absolute());
  CHECK(fs::path(c["model"]["path"].get<std::string>()).filename() == "centernet.pt");

  auto seg = run("config show -c " + kSrc + "/configs/segment-text-ppocrv4.json");
  REQUIRE(seg.exit_code == 0);
  CHECK(Json::parse(seg.out)["task"] == "segment");
  CHECK(run("config show detect -c " + kSrc + "/configs/ocr-ppocrv4.json").exit_code == 2);
}

TEST_CASE("config validate: 0 for valid files, 2 and the key path for a wrong one") {
  std::string files;
  for (const char* f : {"detect-centernet.json", "ocr-ppocrv4.json", "segment-selfie.json", "track-bytetrack.json"})
    files += " " + kSrc + "/configs/" + f;
  auto ok = run("config validate" + files);
  CHECK(ok.exit_code == 0);
  CHECK(std::count(ok.out.begin(), ok.out.end(), '\n') == 4);

  fs::path dir = scratch("validate");
  std::ofstream(dir / "bad.json") << R"({"task": "detect", "model": {"path": "m.pt", "family": "centernet"}, "post": {"nms_iou": "x"}})";
  std::ofstream(dir / "unknown.json") << R"({"task": "detect", "model": {"path": "m.pt", "family": "centernet", "colour": "rgb"}})";
  auto bad = run("config validate " + (dir / "bad.json").string());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("bad.json: post.nms_iou: expected number, got string \"x\"") != std::string::npos);
  auto unknown = run("config validate " + kSrc + "/configs/detect-centernet.json " + (dir / "unknown.json").string());
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.out.find("detect-centernet.json: ok (detect)") != std::string::npos);
  CHECK(unknown.err.find("model.colour") != std::string::npos);
}

TEST_CASE("config init writes a valid starter config with every key and its sidecar doc") {
  fs::path dir = scratch("init");
  fs::path file = dir / "my-detect.json";
  REQUIRE(run("config init detect -o " + file.string()).exit_code == 0);
  REQUIRE(fs::exists(file));
  REQUIRE(fs::exists(dir / "my-detect.json.md"));
  CHECK(run("config validate " + file.string()).exit_code == 0);
  Json c = Json::parse(read_file(file));
  CHECK(c["post"]["top_k"] == 100);
  CHECK(c["output"]["save_txt"] == false);
  std::string doc = read_file(dir / "my-detect.json.md");
  for (const char* key : {"`model.path`", "`post.score_threshold`", "`runtime.threads`", "`output.image_ids`"}) {
    INFO(key);
    CHECK(doc.find(key) != std::string::npos);
  }
  CHECK(run("config init detect -o " + file.string()).exit_code == 2);  // exists: needs --force
  CHECK(run("config init detect --force -o " + file.string()).exit_code == 0);
}

TEST_CASE("docs/config-reference.md is what `cvtool config doc` generates") {
  auto r = run("config doc");
  REQUIRE(r.exit_code == 0);
  INFO("regenerate with: build/cvtool config doc > docs/config-reference.md");
  CHECK(r.out == read_file(kSrc + "/docs/config-reference.md"));
}

TEST_CASE("every built subcommand's --help ends with examples") {
  auto top = run("--help");
  REQUIRE(top.exit_code == 0);
  std::stringstream ss(top.out);
  std::vector<std::string> subs;
  bool in_subs = false;
  for (std::string line; std::getline(ss, line);) {
    if (line.rfind("Subcommands:", 0) == 0 || line.rfind("SUBCOMMANDS:", 0) == 0) {
      in_subs = true;
      continue;
    }
    if (in_subs && line.empty()) break;
    if (in_subs && line.find("not built yet") == std::string::npos) subs.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  CHECK(subs.size() >= 9);
  for (const auto& sub : subs) {
    INFO(sub);
    auto h = run(sub + " --help");
    CHECK(h.exit_code == 0);
    CHECK(h.out.find("Example") != std::string::npos);
    CHECK(h.out.find("  cvtool " + sub) != std::string::npos);
  }
}

TEST_CASE("report: a detect run with a failure becomes one self-contained page") {
  fs::path dir = scratch("report_detect");
  fs::create_directories(dir / "run");
  std::ofstream(dir / "broken.jpg") << "not a jpeg";
  std::string inputs = kData + "messi5.jpg " + kData + "basketball1.png " + (dir / "broken.jpg").string();
  auto det = run("detect " + inputs + " -o " + (dir / "run").string() + " --jsonl > " + (dir / "run" / "results.jsonl").string());
  CHECK(det.exit_code == 1);  // the broken file
  auto records = jsonl(dir / "run" / "results.jsonl");
  REQUIRE(records.size() == 3);
  std::map<std::string, int> expected;
  for (const auto& r : records)
    for (const auto& d : r.value("detections", Json::array())) ++expected[d["label"].get<std::string>()];
  REQUIRE(expected["person"] >= 2);

  auto rep = run("report " + (dir / "run").string() + " -o " + (dir / "report.html").string());
  REQUIRE(rep.exit_code == 0);
  std::string html = read_file(dir / "report.html");
  CHECK(html.find("<span id=\"n-inputs\">3</span>") != std::string::npos);
  CHECK(html.find("<span id=\"n-done\">2</span>") != std::string::npos);
  CHECK(html.find("<span id=\"n-failed\">1</span>") != std::string::npos);
  for (const auto& [label, n] : expected) {
    INFO(label);
    CHECK(html.find("data-label=\"" + label + "\"><td>detect</td><td>" + label + "</td><td class=\"count\">" +
                    std::to_string(n) + " detections</td>") != std::string::npos);
  }
  // Two annotated images (the ones -o wrote), embedded; the failure named.
  // (no std::regex: libstdc++'s recursion overflows the stack on the long data URIs)
  CHECK(count(html, "<img alt=\"messi5.jpg\"") == 1);
  CHECK(count(html, "<img alt=\"basketball1.jpg\"") == 1);
  CHECK(count(html, "src=\"data:image/jpeg;base64,") == 2);
  CHECK(html.find("<li class=\"failure\"><b>" + (dir / "broken.jpg").string() + "</b>") != std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.size() < 400 * 1024);  // downscaled
}

TEST_CASE("report: a track run shows frames of the annotated video and its tracks") {
  fs::path dir = scratch("report_track");
  fs::create_directories(dir / "run");
  auto trk = run("track " + kData + "vtest.avi --max-frames 12 -o " + (dir / "run").string() + " --jsonl > " +
                 (dir / "run" / "tracks.jsonl").string());
  REQUIRE(trk.exit_code == 0);
  std::set<long long> ids;
  for (const auto& r : jsonl(dir / "run" / "tracks.jsonl"))
    for (const auto& t : r["tracks"]) ids.insert(t["id"].get<long long>());
  REQUIRE(!ids.empty());
  REQUIRE(run("report " + (dir / "run").string()).exit_code == 0);
  std::string html = read_file(dir / "run" / "report.html");
  CHECK(html.find("<span id=\"n-inputs\">1</span>") != std::string::npos);
  CHECK(html.find("<td class=\"count\">" + std::to_string(ids.size()) + " tracks</td>") != std::string::npos);
  CHECK(html.find("<span class=\"n\">12</span> frames, <span class=\"n\">" + std::to_string(ids.size()) +
                  "</span> tracks") != std::string::npos);
  CHECK(count(html, "<img alt=\"frame ") == 3);
  CHECK(count(html, "src=\"data:image/jpeg;base64,") == 3);
}
