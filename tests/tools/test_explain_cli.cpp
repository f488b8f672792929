// `cvtool explain` and `cvtool robustness` end to end on the fixture models.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-tools";

// Runs a shell command; returns its exit code and stdout.
int run(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<nlohmann::json> lines(const std::string& s) {
  std::vector<nlohmann::json> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) v.push_back(nlohmann::json::parse(l));
  return v;
}

}  // namespace

TEST_CASE("cvtool explain writes overlays and raw maps that stay in the quadrant", "[explain][cli]") {
  fs::path out = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "explain-cli";
  fs::remove_all(out);
  std::string stdout_text;
  std::string cmd = std::string(CVTOOL_BINARY) + " explain " + (kModels / "texture.png").string() + " -c " +
                    (kModels / "explain-quadrant.json").string() + " --layer features.2 --class 0 -o " + out.string() +
                    " --jsonl";
  REQUIRE(run(cmd, stdout_text) == 0);
  auto recs = lines(stdout_text);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["class_id"] == 0);
  CHECK(recs[0]["map_size"] == nlohmann::json::array({32, 32}));
  REQUIRE(recs[0]["maps"].size() == 3);
  for (const auto& m : recs[0]["maps"]) {
    CHECK(m["peak"][0].get<int>() < 20);
    CHECK(m["peak"][1].get<int>() < 20);
    CHECK(fs::file_size(m["npy"].get<std::string>()) == 128 + 32 * 32 * 4);
    CHECK(fs::exists(m["png"].get<std::string>()));
  }
  // A layer that is not there: a clear error before any work.
  std::string bad = std::string(CVTOOL_BINARY) + " explain " + (kModels / "texture.png").string() + " -c " +
                    (kModels / "explain-quadrant.json").string() + " --layer nope";
  CHECK(run(bad, stdout_text) != 0);
}

TEST_CASE("cvtool robustness prints a row per severity and writes CSV, JSON and a plot", "[robustness][cli]") {
  fs::path out = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "robustness-cli";
  fs::remove_all(out);
  std::string text;
  std::string cmd = std::string(CVTOOL_BINARY) + " robustness -c " + (kModels / "robustness-brightness.json").string() +
                    " --data " + (kModels / "bright").string() +
                    " --corruptions brightness,fgsm --set robustness.corruptions.brightness=[0.1,0.3]"
                    " --set robustness.corruptions.fgsm=[0.3] --jsonl -o " + out.string();
  REQUIRE(run(cmd, text) == 0);
  auto recs = lines(text);
  REQUIRE(recs.size() == 4);
  CHECK(recs[0]["corruption"] == "clean");
  CHECK(recs[1]["accuracy"] == 1.0);
  CHECK(recs[2]["accuracy"] == 0.5);
  CHECK(recs[3]["corruption"] == "fgsm");
  CHECK(recs[3]["accuracy"] == 0.0);
  CHECK(fs::exists(out / "robustness.png"));
  CHECK(fs::exists(out / "robustness.json"));
  std::ifstream csv(out / "robustness.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header == "corruption,level,severity,accuracy,correct,n");
}
