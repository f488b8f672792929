// Reliability end to end: the bad-input matrix for every task command, config errors,
// output-path safety, --shard + merge against a single process, and SIGKILL/SIGTERM
// mid-batch followed by --resume against an uninterrupted run.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>


namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const std::string kBin = CVTOOL_BINARY;
const fs::path kBad = fs::path(CVTOOL_BINARY_DIR) / "test-bad-inputs";  // made by make_bad_inputs.py
const std::string kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "reliability" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Run {
  int exit_code = -1;
  std::string out, err;
};

// Runs a shell command line; stdout captured, stderr through a file.
Run shell(const std::string& cmd, const fs::path& err_file) {
  Run r;
  FILE* pipe = popen((cmd + " 2>" + quote(err_file.string())).c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

Run run_cv(const std::string& args, const fs::path& scratch) {
  return shell(kBin + " " + args, scratch / "stderr.txt");
}

std::vector<Json> parse_jsonl(const std::string& text) {
  std::vector<Json> records;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) records.push_back(Json::parse(line));
  return records;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Relative path -> bytes of every regular file under `dir`.
std::map<std::string, std::string> tree(const fs::path& dir, const std::set<std::string>& except = {}) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), dir).string();
    if (!except.count(rel)) files[rel] = read_file(e.path());
  }
  return files;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

const std::vector<std::string> kGood = {"cmyk.jpg", "gray.png", "one_pixel.png", "plain.jpg", "rgba.png", "u16.png"};
// File -> the words its error must contain.
const std::map<std::string, std::string> kBadReasons = {
    {"empty.jpg", "empty file"},
    {"not_an_image.jpg", "not a decodable image"},
    {"truncated.jpg", "truncated"},
    {"truncated.png", "truncated"},
    {"bomb.png", "over the limit"},
};

// The records of a run, by source; fails the test on a source given twice.
std::map<std::string, Json> by_source(const std::vector<Json>& records) {
  std::map<std::string, Json> out;
  for (const auto& r : records) {
    INFO(r.dump());
    CHECK(out.count(r["source"].get<std::string>()) == 0);
    out[r["source"].get<std::string>()] = r;
  }
  return out;
}

void check_bad_input_matrix(const std::string& command, const std::string& extra) {
  auto scratch = fresh_dir("matrix_" + command);
  std::string missing = (kBad / "bad" / "missing.jpg").string();
  auto r = run_cv(command + " --threads 1 --jsonl -o " + (scratch / "out").string() + " " + extra + " " +
                      (kBad / "good").string() + " " + (kBad / "bad").string() + " " + missing,
                  scratch);
  INFO(command << "\n" << r.err);
  CHECK(r.exit_code == 1);
  auto records = by_source(parse_jsonl(r.out));
  CHECK(records.size() == kGood.size() + kBadReasons.size() + 1);
  for (const auto& name : kGood) {
    std::string source = (kBad / "good" / name).string();
    INFO(source);
    REQUIRE(records.count(source));
    CHECK(!records[source].contains("error"));
  }
  for (const auto& [name, reason] : kBadReasons) {
    std::string source = (kBad / "bad" / name).string();
    INFO(source);
    REQUIRE(records.count(source));
    std::string error = records[source].value("error", "");
    CHECK(error.rfind(source + ": ", 0) == 0);  // names the file first
    CHECK(error.find(reason) != std::string::npos);
    CHECK(r.err.find(error) != std::string::npos);  // and on stderr
  }
  CHECK(records[missing]["error"] == missing + ": no such file");
  CHECK(r.err.find(std::to_string(kGood.size()) + " images done, 6 failed:") != std::string::npos);
}

}  // namespace

TEST_CASE("detect: every bad input fails alone, named, and the good ones still give results") {
  check_bad_input_matrix("detect", "");
}

TEST_CASE("segment: every bad input fails alone, named, and the good ones still give results") {
  check_bad_input_matrix("segment", "");
}

TEST_CASE("ocr: every bad input fails alone, named, and the good ones still give results") {
  check_bad_input_matrix("ocr", "");
}

TEST_CASE("corrupt and truncated videos fail named while the frames before the damage are kept") {
  for (std::string command : {"detect", "track"}) {
    auto scratch = fresh_dir("video_" + command);
    auto r = run_cv(command + " --threads 1 --jsonl --vid-stride 25 " + (kBad / "video").string(), scratch);
    INFO(command << "\n" << r.err);
    CHECK(r.exit_code == 1);
    std::string garbage = (kBad / "video" / "garbage.avi").string();
    std::string truncated = (kBad / "video" / "truncated.avi").string();
    std::size_t frames = 0;
    std::string garbage_error, truncated_error;
    for (const auto& rec : parse_jsonl(r.out)) {
      if (rec.contains("error")) {
        (rec["source"] == garbage ? garbage_error : truncated_error) = rec["error"];
      } else {
        CHECK(rec["source"] == truncated);
        ++frames;
      }
    }
    CHECK(garbage_error.rfind(garbage + ": ", 0) == 0);
    CHECK(truncated_error.rfind(truncated + ": video ends at frame ", 0) == 0);
    CHECK(truncated_error.find("(truncated or corrupt)") != std::string::npos);
    CHECK(frames >= 2);  // a tenth of vtest.avi: ~80 frames, every 25th kept
  }
}

TEST_CASE("unreadable files and folders fail named; the rest of the folder is processed") {
  auto scratch = fresh_dir("unreadable");
  auto dir = scratch / "photos";
  fs::create_directories(dir / "locked_dir");
  fs::copy_file(kBad / "good" / "plain.jpg", dir / "ok.jpg");
  fs::copy_file(kBad / "good" / "plain.jpg", dir / "locked.jpg");
  fs::copy_file(kBad / "good" / "plain.jpg", dir / "locked_dir" / "inside.jpg");
  fs::create_symlink("/nonexistent/target.jpg", dir / "dangling.jpg");
  ::chmod((dir / "locked.jpg").c_str(), 0);
  ::chmod((dir / "locked_dir").c_str(), 0);
  // chmod does not stop root: as root, run cvtool as `nobody` so permissions apply.
  std::string prefix = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  fs::permissions(scratch, fs::perms::all);
  auto r = shell(prefix + kBin + " detect --threads 1 --jsonl " + dir.string(), scratch / "stderr.txt");
  ::chmod((dir / "locked_dir").c_str(), 0755);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  auto records = by_source(parse_jsonl(r.out));
  REQUIRE(records.size() == 4);
  CHECK(!records[(dir / "ok.jpg").string()].contains("error"));
  CHECK(records[(dir / "locked.jpg").string()]["error"] == (dir / "locked.jpg").string() + ": permission denied");
  CHECK(records[(dir / "dangling.jpg").string()]["error"] == (dir / "dangling.jpg").string() + ": no such file");
  CHECK(records[(dir / "locked_dir").string()]["error"] ==
        (dir / "locked_dir").string() + ": cannot read directory: Permission denied");
}

TEST_CASE("config errors exit 2 before any work and name the problem") {
  auto scratch = fresh_dir("configs");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(scratch / name) << text;
    return (scratch / name).string();
  };
  std::string models = std::string(CVTOOL_SOURCE_DIR) + "/models/";
  std::string base = R"("task": "detect", "model": {"path": ")" + models +
                     R"(centernet.pt", "family": "centernet", "input_size": [512, 512], "layout": "nhwc", "labels": ")" +
                     models + R"(coco80.txt"})";
  struct Case {
    std::string name, text, args, expected;
  };
  std::vector<Case> cases = {
      {"malformed.json", "{\"task\": \"detect\",", "", "malformed.json"},
      {"wrong_type.json", "{" + base + R"(, "post": {"score_threshold": "high"}})", "", "post.score_threshold"},
      {"unknown_key.json", "{" + base + R"(, "post": {"score_treshold": 0.3}})", "", "score_treshold"},
      {"out_of_range.json", "{" + base + R"(, "post": {"score_threshold": 1.5}})", "", "post.score_threshold"},
      {"ok.json", "{" + base + "}", "--set post.nms_iou=-1", "post.nms_iou"},
      {"missing_model.json", R"({"task": "detect", "model": {"path": "/nonexistent/model.pt", "family": "centernet"}})",
       "", "/nonexistent/model.pt"},
      // A segmentation model where a CenterNet detector is expected.
      {"wrong_family.json",
       R"({"task": "detect", "model": {"path": ")" + models +
           R"(selfie-segmentation.pt", "family": "centernet", "input_size": [256, 256], "layout": "nhwc"}})",
       "", "selfie-segmentation.pt"},
  };
  for (const auto& c : cases) {
    std::string path = write(c.name, c.text);
    auto out = scratch / ("out_" + c.name);
    auto r = run_cv("detect --threads 1 -c " + path + " " + c.args + " -o " + out.string() + " " +
                        (kBad / "good" / "plain.jpg").string(),
                    scratch);
    INFO(c.name << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK(r.out.empty());
    CHECK((!fs::exists(out) || fs::is_empty(out)));  // nothing written
  }
}

TEST_CASE("input names never escape, collide with or overwrite anything") {
  auto scratch = fresh_dir("paths");
  auto in = scratch / "in";
  std::string cat = read_file(kBad / "good" / "plain.jpg");
  std::vector<std::string> names = {"a/x.jpg", "b/x.jpg", "b/x.png", "my photo.jpg", "new\nline.jpg",
                                    "caf\xC3\xA9.jpg", "..jpg", "-rf.jpg", "a/..hidden.jpg"};
  for (const auto& n : names) {
    fs::create_directories((in / n).parent_path());
    std::ofstream(in / n, std::ios::binary) << cat;
  }
  auto out = scratch / "out";
  // The folder, then the same file again by a path with "..", then by its absolute path.
  std::string again = (in / "a" / ".." / "b" / "x.jpg").string();
  auto r = run_cv("detect --threads 1 -q -o " + out.string() + " " + in.string() + " " + quote(again) + " " +
                      fs::absolute(in / "a" / "x.jpg").string(),
                  scratch);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto outputs = files_in(out);
  std::set<std::string> images;
  for (const auto& f : outputs) {
    INFO(f);
    CHECK(f.find('\n') == std::string::npos);
    CHECK(f.find(' ') == std::string::npos);
    CHECK(f[0] != '.');
    CHECK(f[0] != '-');
    if (f.size() > 4 && f.compare(f.size() - 4, 4, ".jpg") == 0) images.insert(f);
  }
  // One per input file: the ".." path is another name, so another output; the absolute
  // path is the very path the folder scan gave, so it maps to that same output again.
  CHECK(images.size() == names.size() + 1);
  CHECK(files_in(scratch) == std::vector<std::string>{"in", "out", "stderr.txt"});  // nothing outside -o
  for (const auto& n : names) CHECK(read_file(in / n) == cat);  // inputs untouched

  // An output folder that is the input folder: refuses to overwrite the input.
  auto same = scratch / "same";
  fs::create_directories(same);
  std::ofstream(same / "photo.jpg", std::ios::binary) << cat;
  auto r2 = run_cv("detect --threads 1 -q -o " + same.string() + " " + (same / "photo.jpg").string(), scratch);
  CHECK(r2.exit_code == 1);
  CHECK(r2.err.find("refusing to overwrite an input file") != std::string::npos);
  CHECK(read_file(same / "photo.jpg") == cat);
}

namespace {

// A folder of real photos and one corrupt file. (Same names in two folders are the
// path test's; here they would give two COCO images the same image_id.)
fs::path shard_inputs(const fs::path& scratch) {
  auto dir = scratch / "photos";
  int i = 0;
  for (const char* name : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                           "coins.png", "camera.png", "hubble_deep_field.jpg"}) {
    auto sub = dir / (i++ % 2 ? "b" : "a");
    fs::create_directories(sub);
    fs::copy_file(kSkimage + name, sub / name);
  }
  fs::copy_file(kSkimage + std::string("page.png"), dir / "a" / "page.png");
  fs::copy_file(kBad / "bad" / "truncated.jpg", dir / "b" / "broken.jpg");
  return dir;
}

}  // namespace

TEST_CASE("sharding: --shard i/N over N processes, merged, equals one process") {
  auto scratch = fresh_dir("shard");
  auto photos = shard_inputs(scratch);
  auto single = run_cv("detect --threads 1 --jsonl -o " + (scratch / "single").string() + " " + photos.string(), scratch);
  REQUIRE(single.exit_code == 1);  // the broken file
  const int n = 3;
  // Start all shards, then collect them: N processes at once.
  std::vector<FILE*> pipes;
  for (int i = 0; i < n; ++i) {
    std::string cmd = kBin + " detect --threads 1 --jsonl --shard " + std::to_string(i) + "/" + std::to_string(n) +
                      " -o " + (scratch / ("shard-" + std::to_string(i))).string() + " " + photos.string() + " > " +
                      (scratch / ("shard-" + std::to_string(i) + ".jsonl")).string() + " 2>/dev/null; echo $?";
    pipes.push_back(popen(cmd.c_str(), "r"));
  }
  int failed_shards = 0;
  for (FILE* p : pipes) {
    char buf[16] = {0};
    REQUIRE(fgets(buf, sizeof buf, p));
    pclose(p);
    int rc = std::atoi(buf);
    CHECK((rc == 0 || rc == 1));
    failed_shards += rc == 1;
  }
  CHECK(failed_shards == 1);  // only the shard with broken.jpg
  // Block sizes 3/3/4 of 10 inputs; each input in exactly one shard.
  std::multiset<std::string> seen;
  for (int i = 0; i < n; ++i) {
    auto records = parse_jsonl(read_file(scratch / ("shard-" + std::to_string(i) + ".jsonl")));
    CHECK(records.size() == (i == 2 ? 4u : 3u));
    for (const auto& rec : records) seen.insert(rec["source"].get<std::string>());
  }
  CHECK(seen.size() == 10);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 10);

  std::string parts, coco_parts;
  for (int i = 0; i < n; ++i) {
    parts += " " + (scratch / ("shard-" + std::to_string(i) + ".jsonl")).string();
    coco_parts += " " + (scratch / ("shard-" + std::to_string(i)) / "predictions.coco.json").string();
  }
  auto merged = run_cv("merge" + parts + " --inputs " + photos.string(), scratch);
  CHECK(merged.exit_code == 0);
  CHECK(merged.out == single.out);  // byte for byte
  auto coco = run_cv("merge" + coco_parts + " -o " + (scratch / "merged.coco.json").string(), scratch);
  CHECK(coco.exit_code == 0);
  CHECK(read_file(scratch / "merged.coco.json") == read_file(scratch / "single" / "predictions.coco.json"));
  // Annotated images: the shards' names are the single run's names.
  std::map<std::string, std::string> shard_images;
  for (int i = 0; i < n; ++i)
    for (const auto& [name, bytes] : tree(scratch / ("shard-" + std::to_string(i)), {"predictions.coco.json"}))
      CHECK(shard_images.emplace(name, bytes).second);
  CHECK(shard_images == tree(scratch / "single", {"predictions.coco.json"}));

  // A missing shard and a duplicated shard are refused, naming the inputs.
  auto missing = run_cv("merge " + (scratch / "shard-0.jsonl").string() + " " + (scratch / "shard-2.jsonl").string() +
                            " --inputs " + photos.string(),
                        scratch);
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find(": missing (no record in any part)") != std::string::npos);
  CHECK(missing.out.empty());
  auto twice = run_cv("merge" + parts + " " + (scratch / "shard-1.jsonl").string(), scratch);
  CHECK(twice.exit_code == 1);
  CHECK(twice.err.find(": duplicated (in ") != std::string::npos);
  auto coco_twice = run_cv("merge" + coco_parts + " " + (scratch / "shard-0" / "predictions.coco.json").string(), scratch);
  CHECK(coco_twice.exit_code == 1);
  CHECK(run_cv("detect --shard 3/3 x.jpg", scratch).exit_code == 2);
  CHECK(run_cv("detect --shard 1-3 x.jpg", scratch).exit_code == 2);
}

namespace {

// Starts cvtool in the background (stdout and stderr to files); returns its pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  pid_t pid = fork();
  if (pid == 0) {
    freopen(out.c_str(), "w", stdout);
    freopen(err.c_str(), "w", stderr);
    std::vector<char*> argv;
    std::string bin = kBin;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

std::size_t line_count(const fs::path& p) {
  std::string text = read_file(p);
  return std::size_t(std::count(text.begin(), text.end(), '\n'));
}

// Waits until the manifest lists `lines` done inputs (or the process ended); false on timeout.
bool wait_for_manifest(pid_t pid, const fs::path& manifest, std::size_t lines) {
  for (int i = 0; i < 6000; ++i) {  // a generous bound for a loaded machine, not a timing assertion
    if (fs::exists(manifest) && line_count(manifest) >= lines) return true;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Many inputs, so a kill lands mid-batch.
fs::path resume_inputs(const fs::path& scratch) {
  auto dir = scratch / "photos";
  fs::create_directories(dir);
  const char* sources[] = {"chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "camera.png"};
  for (int i = 0; i < 24; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "img_%02d%s", i, i % 5 == 3 ? ".jpg" : ".png");
    fs::copy_file(kSkimage + sources[i % 5], dir / name);
  }
  fs::copy_file(kBad / "bad" / "truncated.jpg", dir / "img_07_broken.jpg");
  return dir;
}

}  // namespace

TEST_CASE("SIGKILL mid-batch leaves no half-written file and --resume ends identical to an uninterrupted run") {
  auto scratch = fresh_dir("resume");
  auto photos = resume_inputs(scratch);
  auto reference = scratch / "reference";
  auto ref = run_cv("detect --threads 1 -q --save-txt -o " + reference.string() + " " + photos.string(), scratch);
  REQUIRE(ref.exit_code == 1);  // the broken file
  const auto expected = tree(reference);
  REQUIRE(expected.size() == 24 * 2 + 1);  // annotated image + labels per good input, COCO results

  auto out = scratch / "killed";
  auto manifest = out / "cvtool-manifest.jsonl";
  std::vector<std::string> args = {"detect", "--threads", "1", "-q", "--save-txt", "--resume", "-o", out.string(),
                                   photos.string()};
  pid_t pid = spawn(args, scratch / "killed.out", scratch / "killed.err");
  REQUIRE(wait_for_manifest(pid, manifest, 6));
  ::kill(pid, SIGKILL);
  CHECK(wait_exit(pid) == 128 + SIGKILL);
  // Whatever exists under its final name is complete: byte-identical to the reference.
  std::size_t complete = 0;
  for (const auto& [name, bytes] : tree(out, {"cvtool-manifest.jsonl"})) {
    if (name.find(".tmp.") != std::string::npos) continue;  // a temp file is not an output
    INFO(name);
    REQUIRE(expected.count(name));
    CHECK(bytes == expected.at(name));
    ++complete;
  }
  CHECK(complete >= 6 * 2);
  CHECK(complete < expected.size());
  CHECK(!fs::exists(out / "predictions.coco.json"));  // written at the end only

  auto resumed = run_cv("detect --threads 1 --save-txt --resume -o " + out.string() + " " + photos.string(), scratch);
  INFO(resumed.err);
  CHECK(resumed.exit_code == 1);  // the broken file fails again, as in the reference
  CHECK(resumed.err.find("inputs were done by an earlier run (--resume)") != std::string::npos);
  CHECK(tree(out, {"cvtool-manifest.jsonl"}) == expected);
  CHECK(line_count(manifest) == 24);
}

TEST_CASE("SIGTERM stops after the inputs in flight with a resumable state") {
  auto scratch = fresh_dir("sigterm");
  auto photos = resume_inputs(scratch);
  auto reference = scratch / "reference";
  REQUIRE(run_cv("detect --threads 1 -q -o " + reference.string() + " " + photos.string(), scratch).exit_code == 1);
  auto out = scratch / "stopped";
  auto manifest = out / "cvtool-manifest.jsonl";
  pid_t pid = spawn({"detect", "--threads", "1", "--resume", "-o", out.string(), photos.string()},
                    scratch / "stopped.out", scratch / "stopped.err");
  REQUIRE(wait_for_manifest(pid, manifest, 4));
  ::kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 1);
  std::string err = read_file(scratch / "stopped.err");
  INFO(err);
  CHECK(err.find("stopped by signal 15") != std::string::npos);
  CHECK(err.find("rerun the same command with --resume") != std::string::npos);
  // Every input the manifest lists has its output; no temp file is left.
  std::size_t done = line_count(manifest);
  CHECK(done < 24);
  std::size_t images = 0;
  for (const auto& [name, bytes] : tree(out, {"cvtool-manifest.jsonl"})) {
    CHECK(name.find(".tmp.") == std::string::npos);
    images += name != "predictions.coco.json";
  }
  CHECK(images == done);
  auto resumed = run_cv("detect --threads 1 -q --resume -o " + out.string() + " " + photos.string(), scratch);
  CHECK(resumed.exit_code == 1);
  CHECK(tree(out, {"cvtool-manifest.jsonl"}) == tree(reference));
}
