// Runs the built binary the way users and scripts do and checks exit codes and output.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "run_binary.hpp"

namespace {

using cvtool::test::RunResult;
RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "cli"); }

}  // namespace

TEST_CASE("help lists the subcommands") {
  auto r = run("--help");
  CHECK(r.exit_code == 0);
  for (const char* sub : {"detect", "segment", "track", "ocr", "embed", "search", "models"}) {
    INFO(sub);
    CHECK(r.out.find(std::string("  ") + sub) != std::string::npos);
  }
}

TEST_CASE("version output names LibTorch, the BLAS and the thread count") {
  auto r = run("--version");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("LibTorch 1.13") != std::string::npos);
  CHECK(r.out.find("BLAS: OpenBLAS") != std::string::npos);
  CHECK(r.out.find("threads: ") != std::string::npos);
}

TEST_CASE("OpenMP threads spin briefly, then wait passively, unless the user chose a policy") {
  // OMP_DISPLAY_ENV makes libgomp print the settings it read at its own start-up, which
  // shows the policy reached OpenMP itself and not just the environment.
  ::unsetenv("OMP_WAIT_POLICY");
  ::setenv("OMP_DISPLAY_ENV", "verbose", 1);  // verbose: GOMP_SPINCOUNT too
  auto by_default = run("--version");
  ::setenv("OMP_WAIT_POLICY", "active", 1);
  auto chosen = run("--version");
  ::unsetenv("OMP_WAIT_POLICY");
  ::unsetenv("OMP_DISPLAY_ENV");
  CHECK(by_default.err.find("OMP_WAIT_POLICY = 'PASSIVE'") != std::string::npos);
  CHECK(by_default.err.find("GOMP_SPINCOUNT = '10000'") != std::string::npos);
  CHECK(by_default.out.find("OpenMP wait policy: PASSIVE, spin count 10000") != std::string::npos);
  CHECK(chosen.err.find("OMP_WAIT_POLICY = 'ACTIVE'") != std::string::npos);
  CHECK(chosen.err.find("GOMP_SPINCOUNT = '30000000000'") != std::string::npos);
  CHECK(chosen.out.find("OpenMP wait policy: active") != std::string::npos);
}

TEST_CASE("usage and config errors exit 2 before any work") {
  CHECK(run("detect --no-such-flag x.jpg").exit_code == 2);
  CHECK(run("no-such-command").exit_code == 2);
  auto r = run("detect --set post.nms_iou=x /usr/share/doc/opencv-doc/examples/data/messi5.jpg");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("post.nms_iou: expected number, got string \"x\"") != std::string::npos);
  auto missing = run("detect -c /nonexistent.json x.jpg");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("/nonexistent.json: cannot open config file") != std::string::npos);
  // The zoo's CenterNet is traced at 512x512: another size is a config error, not a crash.
  auto size = run("detect --imgsz 128 /usr/share/doc/opencv-doc/examples/data/messi5.jpg");
  CHECK(size.exit_code == 2);
  CHECK(size.err.find("centernet.pt: the model does not run on a 128x128 input (model.input_size, --imgsz): ") !=
        std::string::npos);
  CHECK(size.err.find("Traceback") == std::string::npos);
}

namespace {

const std::string kOpencv = "/usr/share/doc/opencv-doc/examples/data/";
const std::string kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";

std::vector<nlohmann::json> parse_jsonl(const std::string& out) {
  std::vector<nlohmann::json> records;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));  // throws if not JSON
  return records;
}

// The best detection of `label` in a record, or null.
nlohmann::json best(const nlohmann::json& record, const std::string& label) {
  nlohmann::json found;
  for (const auto& d : record["detections"])
    if (d["label"] == label && (found.is_null() || d["score"] > found["score"])) found = d;
  return found;
}

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::path(CVTOOL_BINARY_DIR) / "test-scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("the default detector finds what a person sees in real photos") {
  auto r = run("detect --jsonl " + kOpencv + "messi5.jpg " + kSkimage + "chelsea.png " + kSkimage + "coffee.png " +
               kSkimage + "motorcycle_left.png " + kSkimage + "astronaut.png");
  REQUIRE(r.exit_code == 0);
  auto records = parse_jsonl(r.out);
  REQUIRE(records.size() == 5);
  CHECK(records[0]["source"] == kOpencv + "messi5.jpg");
  CHECK(records[0]["width"] == 548);
  // messi5.jpg: the player fills the middle of the frame; the ball is at his feet, lower right.
  auto player = best(records[0], "person");
  REQUIRE(!player.is_null());
  CHECK(player["score"] > 0.5);
  CHECK(player["box"][0] < 150);
  CHECK(player["box"][2] > 400);
  auto ball = best(records[0], "sports ball");
  REQUIRE(!ball.is_null());
  CHECK(ball["box"][0] > 300);
  CHECK(ball["box"][1] > 250);
  // One animal, one cup, one motorcycle, one astronaut, each the best-scored object.
  for (auto [index, label] : std::vector<std::pair<int, std::string>>{{1, "cat"}, {2, "cup"}, {3, "motorcycle"}, {4, "person"}}) {
    INFO(label);
    auto d = best(records[index], label);
    REQUIRE(!d.is_null());
    CHECK(d["score"] > 0.4);
    CHECK(records[index]["detections"][0]["label"] == label);
  }
  // The cat covers most of chelsea.png (451x300).
  auto cat = best(records[1], "cat");
  CHECK(cat["box"][2].get<double>() - cat["box"][0].get<double>() > 300);
}

TEST_CASE("a batch goes on past bad inputs, names each failure and exits 1") {
  auto dir = fresh_dir("cli_bad_inputs");
  std::ofstream(dir / "empty.jpg").close();
  std::ofstream(dir / "notes.jpg") << "not an image\n";
  auto r = run("detect --jsonl " + (dir / "empty.jpg").string() + " " + kSkimage + "coffee.png " +
               kSkimage + "truncated.jpg " + (dir / "notes.jpg").string() + " " + (dir / "missing.png").string());
  CHECK(r.exit_code == 1);
  auto records = parse_jsonl(r.out);
  REQUIRE(records.size() == 5);
  CHECK(records[0]["error"] == (dir / "empty.jpg").string() + ": empty file");
  CHECK(records[1]["detections"].size() >= 1);
  CHECK(records[2]["error"].get<std::string>().find("truncated") != std::string::npos);
  CHECK(records[3]["error"] == (dir / "notes.jpg").string() + ": not a decodable image");
  CHECK(records[4]["error"] == (dir / "missing.png").string() + ": no such file");
  CHECK(r.err.find("1 images done, 4 failed") != std::string::npos);
}

TEST_CASE("detect -o writes annotated images, COCO results and YOLO labels, with an empty file for nothing found") {
  auto dir = fresh_dir("cli_detect_out");
  auto r = run("detect -q --save-txt --classes cat -o " + dir.string() + " " + kSkimage + "chelsea.png " + kSkimage +
               "coffee.png");
  REQUIRE(r.exit_code == 0);
  CHECK(std::filesystem::file_size(dir / "chelsea.jpg") > 1000);
  CHECK(std::filesystem::exists(dir / "coffee.jpg"));
  std::ifstream cat_txt(dir / "labels" / "chelsea.txt"), cup_txt(dir / "labels" / "coffee.txt");
  std::string cat_line;
  REQUIRE(std::getline(cat_txt, cat_line));
  CHECK(cat_line.rfind("15 ", 0) == 0);  // COCO class 15 is "cat"
  CHECK(std::filesystem::file_size(dir / "labels" / "coffee.txt") == 0);
  std::ifstream coco(dir / "predictions.coco.json");
  auto results = nlohmann::json::parse(coco);
  REQUIRE(results.size() >= 1);
  CHECK(results[0]["image_id"] == "chelsea");
  CHECK(results[0]["category_id"] == 15);
  CHECK(results[0]["bbox"].size() == 4);
}

TEST_CASE("inputs from a list file and from stdin") {
  auto dir = fresh_dir("cli_lists");
  std::ofstream(dir / "list.txt") << kSkimage + "coffee.png\n" + kSkimage + "chelsea.png\n";
  auto listed = parse_jsonl(run("detect --jsonl @" + (dir / "list.txt").string()).out);
  REQUIRE(listed.size() == 2);
  CHECK(listed[1]["source"] == kSkimage + "chelsea.png");
  auto piped = parse_jsonl(run("detect --jsonl - < " + (dir / "list.txt").string()).out);
  REQUIRE(piped.size() == 2);
  CHECK(piped[0]["source"] == kSkimage + "coffee.png");
}

TEST_CASE("detect on a video gives one record per kept frame") {
  auto dir = fresh_dir("cli_video");
  auto r = run("detect --jsonl --vid-stride 200 --classes person -o " + dir.string() + " " + kOpencv + "vtest.avi");
  REQUIRE(r.exit_code == 0);
  auto records = parse_jsonl(r.out);
  REQUIRE(records.size() == 4);  // frames 0, 200, 400, 600 of 795
  CHECK(records[3]["frame"] == 600);
  for (const auto& rec : records) CHECK(rec["detections"].size() >= 2);  // a busy pedestrian street
  CHECK(std::filesystem::file_size(dir / "vtest.avi") > 10000);
}

TEST_CASE("models lists the bundled configs") {
  auto r = run("models --jsonl");
  CHECK(r.exit_code == 0);
  auto records = parse_jsonl(r.out);
  bool found = false;
  for (const auto& rec : records)
    if (rec.value("family", "") == "centernet") found = rec["installed"] == true;
  CHECK(found);
}

TEST_CASE("track follows the walkers of vtest.avi with stable identities") {
  auto r = run("track --jsonl --max-frames 15 " + kOpencv + "vtest.avi");
  REQUIRE(r.exit_code == 0);
  auto records = parse_jsonl(r.out);
  REQUIRE(records.size() == 15);
  CHECK(records[0]["frame"] == 1);
  // Frame 1: three people walk in the open (at x ~255, ~500 and ~640); nobody is
  // occluded until after frame 15, so the same three identities hold throughout.
  std::set<int> first;
  for (const auto& t : records[0]["tracks"]) first.insert(t["id"].get<int>());
  CHECK(first.size() == 3);
  for (const auto& rec : records) {
    std::set<int> ids;
    for (const auto& t : rec["tracks"]) ids.insert(t["id"].get<int>());
    INFO("frame " << rec["frame"]);
    CHECK(std::includes(ids.begin(), ids.end(), first.begin(), first.end()));
  }
}

TEST_CASE("track over public detections writes MOT files that eval track scores") {
  auto dir = fresh_dir("cli_track_mot");
  std::ofstream det(dir / "det.txt"), gt(dir / "gt.txt");
  for (int f = 1; f <= 12; ++f) {
    // Two walkers 200 px apart, 6 px a frame in opposite directions.
    int a = 100 + 6 * f, b = 400 - 6 * f;
    det << f << ",-1," << a << ",50,40,100,0.9\n" << f << ",-1," << b << ",60,40,100,0.8\n";
    gt << f << ",1," << a << ",50,40,100,1\n" << f << ",2," << b << ",60,40,100,1\n";
  }
  det.close();
  gt.close();
  auto r = run("track -q --detections " + (dir / "det.txt").string() + " -o " + dir.string());
  REQUIRE(r.exit_code == 0);
  std::ifstream mot(dir / "det.mot.txt");
  std::string line;
  int lines = 0;
  while (std::getline(mot, line)) ++lines;
  CHECK(lines == 24);
  auto eval = run("eval track --jsonl --gt " + (dir / "gt.txt").string() + " --pred " + (dir / "det.mot.txt").string());
  REQUIRE(eval.exit_code == 0);
  auto m = nlohmann::json::parse(eval.out);
  CHECK(m["mota"] == 1.0);
  CHECK(m["idf1"] == 1.0);
  CHECK(m["id_switches"] == 0);
  CHECK(m["mostly_tracked"] == 2);
}

TEST_CASE("eval detect scores cvtool's own COCO results against ground truth") {
  auto dir = fresh_dir("cli_eval_detect");
  auto r = run("detect -q --classes cat -o " + dir.string() + " " + kSkimage + "chelsea.png");
  REQUIRE(r.exit_code == 0);
  // Ground truth: the cat drawn by hand around the whole animal in chelsea.png (451x300).
  std::ofstream(dir / "gt.json") << R"({"images": [{"id": 1, "file_name": "chelsea.png", "width": 451, "height": 300}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 17, "bbox": [0, 0, 420, 300], "area": 126000, "iscrowd": 0}],
    "categories": [{"id": 17, "name": "cat"}]})";
  auto e = run("eval detect --jsonl --gt " + (dir / "gt.json").string() + " --pred " +
               (dir / "predictions.coco.json").string() + " --labels " + std::string(CVTOOL_SOURCE_DIR) + "/models/coco80.txt");
  REQUIRE(e.exit_code == 0);
  auto records = parse_jsonl(e.out);
  REQUIRE(!records.empty());
  CHECK(records.back()["summary"] == true);
  CHECK(records.back()["map50"] == 1.0);
}

TEST_CASE("single-object trackers follow one walker from a box on the first frame") {
  // The man at x 254 in frame 1 of vtest.avi walks right; by frame 15 the multi-object
  // tracker (and a look at the frame) puts him at about [340, 209, 369, 285].
  const std::array<double, 4> truth = {340, 209, 369, 285};
  auto iou = [&](const nlohmann::json& b) {
    double iw = std::min(b[2].get<double>(), truth[2]) - std::max(b[0].get<double>(), truth[0]);
    double ih = std::min(b[3].get<double>(), truth[3]) - std::max(b[1].get<double>(), truth[1]);
    if (iw <= 0 || ih <= 0) return 0.0;
    double a = (b[2].get<double>() - b[0].get<double>()) * (b[3].get<double>() - b[1].get<double>());
    return iw * ih / (a + (truth[2] - truth[0]) * (truth[3] - truth[1]) - iw * ih);
  };
  for (const char* method : {"csrt", "mil", "kcf", "template"}) {
    INFO(method);
    auto r = run(std::string("track --jsonl --max-frames 15 --init 254,220,27,90 --method ") + method + " " + kOpencv +
                 "vtest.avi");
    REQUIRE(r.exit_code == 0);
    auto records = parse_jsonl(r.out);
    REQUIRE(records.size() == 15);
    CHECK(records[0]["box"] == nlohmann::json::array({254.0, 220.0, 281.0, 310.0}));
    std::set<std::string> states = {"tracking", "lost", "recovered"};
    for (const auto& rec : records) CHECK(states.count(rec["state"].get<std::string>()) == 1);
    if (std::string(method) == "csrt" || std::string(method) == "mil") {
      CHECK(records.back()["state"] != "lost");
      CHECK(iou(records.back()["box"]) > 0.6);
    }
  }
  CHECK(run("track --init 1,2,3 " + kOpencv + "vtest.avi").exit_code == 2);
}
