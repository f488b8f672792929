// Embeddings, .npy, exact search, k-means and dedup on data with known answers. The
// test models and their expected vectors come from tests/models/make_embed_test_models.py.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../cli/run_binary.hpp"
#include "../unit/test_helpers.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/embed/cluster.hpp"
#include "cvtool/embed/embedder.hpp"
#include "cvtool/embed/embedding_set.hpp"
#include "cvtool/embed/vector_index.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-embed";

nlohmann::json expected() {
  std::ifstream in(kModels / "expected.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

nlohmann::json test_config(const std::string& model, const std::vector<std::string>& overrides) {
  ConfigSources s;
  s.overrides = {"task=embed", "model.path=" + (kModels / model).string(), "model.input_size=[16,12]",
                 "runtime.threads=1"};
  s.overrides.insert(s.overrides.end(), overrides.begin(), overrides.end());
  return load_config(s, task_schema("embed"));
}

std::vector<float> embed_one(const nlohmann::json& config) {
  Embedder e(config);
  cv::Mat image = cv::imread((kModels / "embed_input.png").string(), cv::IMREAD_COLOR);
  REQUIRE(!image.empty());
  auto v = e.embed({image, image});
  REQUIRE(v.size() == 2);
  CHECK(v[0] == v[1]);
  CHECK(int(v[0].size()) == e.dim());
  return v[0];
}

void check_close(const std::vector<float>& got, const nlohmann::json& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i].get<double>()).margin(1e-5));
}

std::string python(const std::string& code) {
  std::string cmd = "/usr/bin/python3 -c \"" + code + "\" 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) out += buf;
  pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("embedder pools a named output and L2-normalises it") {
  auto want = expected();
  SECTION("tuple index 0, average pooling") { check_close(embed_one(test_config("embed_tuple.pt", {"model.output=0"})), want["avg"]); }
  SECTION("without normalisation the raw average comes out") {
    check_close(embed_one(test_config("embed_tuple.pt", {"model.output=0", "post.normalize=false"})), want["avg_raw"]);
  }
  SECTION("max pooling") {
    check_close(embed_one(test_config("embed_tuple.pt", {"model.output=0", "post.pool=max"})), want["max"]);
  }
  SECTION("dict key") { check_close(embed_one(test_config("embed_dict.pt", {"model.output=features"})), want["avg"]); }
  SECTION("a 2-D output is taken as it is") {
    check_close(embed_one(test_config("embed_tuple.pt", {"model.output=1"})), want["logits"]);
  }
  SECTION("a submodule's output") {
    check_close(embed_one(test_config("embed_tuple.pt", {"model.submodule=backbone"})), want["avg"]);
  }
  SECTION("flatten, and flip averaging with it") {
    check_close(embed_one(test_config("embed_tuple.pt", {"model.output=0", "post.pool=flatten"})), want["flatten"]);
    check_close(embed_one(test_config("embed_tuple.pt", {"model.output=0", "post.pool=flatten", "post.flip_tta=true"})),
                want["flatten_flip"]);
  }
}

TEST_CASE("embedder names what is wrong with a model's outputs") {
  auto fails_with = [](const nlohmann::json& config, const std::string& text) {
    try {
      Embedder e(config);
      FAIL("no error");
    } catch (const Error& err) {
      CHECK(err.kind() == ErrorKind::Model);
      CHECK_THAT(err.what(), Catch::Contains(text));
    }
  };
  fails_with(test_config("embed_tuple.pt", {}), "tuple (0: tensor 1x4x12x16, 1: tensor 1x2)");
  fails_with(test_config("embed_tuple.pt", {"model.output=5"}), "index 5 is out of range");
  fails_with(test_config("embed_dict.pt", {"model.output=pool5"}), "no output named 'pool5'");
  fails_with(test_config("embed_tuple.pt", {"model.submodule=fc2"}), "children here: backbone, head");
  fails_with(test_config("missing.pt", {}), "model file not found");
}

TEST_CASE("npy files round-trip and numpy reads ours") {
  auto dir = test::scratch_dir("embed-npy");
  std::vector<float> m = {0.5f, -1.25f, 3.0f, 1e-7f, 65504.f, -0.0f};
  write_npy(dir / "m.npy", m.data(), {2, 3});
  NpyArray back = read_npy(dir / "m.npy");
  CHECK(back.shape == std::vector<std::int64_t>{2, 3});
  CHECK(back.data == m);
  CHECK(test::read_bytes(dir / "m.npy").size() == 128 + 6 * 4);  // header padded to 64 bytes
  std::string out = python("import numpy as np; a = np.load('" + (dir / "m.npy").string() +
                           "'); print(a.dtype, a.shape, repr(a[0,1]), repr(a[1,1]))");
  CHECK(out == "float32 (2, 3) -1.25 65504.0\n");
  NpyArray f4 = read_npy(kModels / "numpy_f4.npy");
  CHECK(f4.shape == std::vector<std::int64_t>{3, 4});
  CHECK(f4.data[5] == 1.25f);
  NpyArray f8 = read_npy(kModels / "numpy_f8.npy");
  CHECK(f8.data == std::vector<float>{1.5f, -2.25f, 3.0f, 1e-3f});
  test::write_bytes(dir / "bad.npy", "not numpy at all");
  CHECK_THROWS_WITH(read_npy(dir / "bad.npy"), Catch::Contains("not a .npy file"));
}

TEST_CASE("exact search returns the known neighbours, chunked or not") {
  // Five 3-d vectors at known angles; the query (1, 0.1, 0) is nearest to a, then b.
  VectorIndex index(3);
  std::vector<float> rows = {1, 0, 0,  1, 1, 0,  0, 1, 0,  -1, 0, 0,  0, 0, 5};
  index.add({"a", "b", "c", "d", "e"}, rows.data(), 5);
  std::vector<float> q = {1, 0.1f, 0};
  for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(1000)}) {
    auto hits = index.search(q.data(), 1, 3, chunk);
    REQUIRE(hits[0].size() == 3);
    CHECK(hits[0][0].id == "a");
    CHECK(hits[0][0].score == Approx(1 / std::sqrt(1.01)));
    CHECK(hits[0][1].id == "b");
    CHECK(hits[0][1].score == Approx(1.1 / std::sqrt(2 * 1.01)));
    CHECK(hits[0][2].id == "c");
  }
  SECTION("removal by id and incremental add") {
    CHECK(index.remove({"a", "zz"}) == 1);
    auto hits = index.search(q.data(), 1, 1);
    CHECK(hits[0][0].id == "b");
    std::vector<float> f = {2, 0.2f, 0};
    index.add({"f"}, f.data(), 1);
    CHECK(index.size() == 5);
    CHECK(index.search(q.data(), 1, 1)[0][0].id == "f");
    CHECK(index.search(q.data(), 1, 1)[0][0].score == Approx(1.0));
    std::vector<float> again = {0, 0, -1};
    index.add({"f"}, again.data(), 1);  // same id: replaced, not duplicated
    CHECK(index.size() == 5);
    auto dir = test::scratch_dir("embed-index");
    index.save(dir);
    VectorIndex loaded = VectorIndex::load(dir);
    CHECK(loaded.ids() == index.ids());
    CHECK(loaded.search(again.data(), 1, 1)[0][0].id == "f");
  }
}

TEST_CASE("k-means++ with a fixed seed finds three known blobs") {
  // 3 tight groups of 4 points around (0,0), (10,0) and (0,10).
  std::vector<float> rows;
  const float centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  const float offsets[4][2] = {{0.1f, 0}, {-0.1f, 0}, {0, 0.1f}, {0, -0.1f}};
  for (auto& c : centres)
    for (auto& o : offsets) rows.insert(rows.end(), {c[0] + o[0], c[1] + o[1]});
  KMeansOptions ko;
  ko.k = 3;
  ko.seed = 42;
  KMeansResult r = kmeans(rows.data(), 12, 2, ko);
  for (int g = 0; g < 3; ++g)
    for (int i = 1; i < 4; ++i) CHECK(r.labels[g * 4 + i] == r.labels[g * 4]);
  CHECK(r.labels[0] != r.labels[4]);
  CHECK(r.labels[0] != r.labels[8]);
  CHECK(r.labels[4] != r.labels[8]);
  CHECK(r.inertia == Approx(12 * 0.01).epsilon(1e-3));  // float32 sums of squares
  const int c1 = r.labels[4];
  CHECK(r.centroids[c1 * 2] == Approx(10.0));
  CHECK(r.centroids[c1 * 2 + 1] == Approx(0.0).margin(1e-6));
  KMeansResult again = kmeans(rows.data(), 12, 2, ko);
  CHECK(again.labels == r.labels);
  CHECK(kmeans_plus_plus(rows.data(), 12, 2, 3, 42) == kmeans_plus_plus(rows.data(), 12, 2, 3, 42));
  ko.k = 13;
  CHECK_THROWS_AS(kmeans(rows.data(), 12, 2, ko), Error);
}

TEST_CASE("near-duplicate groups link pairs above the threshold transitively") {
  // Rows 0-1-2 form a chain (0~1, 1~2 but 0 and 2 are further apart), 3 and 5 match,
  // 4 is alone.
  auto unit = [](float deg) { return std::vector<float>{std::cos(deg * float(CV_PI) / 180), std::sin(deg * float(CV_PI) / 180)}; };
  std::vector<float> rows;
  for (float deg : {0.f, 10.f, 20.f, 90.f, 180.f, 92.f}) {
    auto v = unit(deg);
    rows.insert(rows.end(), v.begin(), v.end());
  }
  const float t = std::cos(12 * float(CV_PI) / 180);  // closer than 12 degrees
  auto groups = near_duplicate_groups(rows.data(), 6, 2, t, 2);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0] == std::vector<std::size_t>{0, 1, 2});
  CHECK(groups[1] == std::vector<std::size_t>{3, 5});
  CHECK(near_duplicate_groups(rows.data(), 6, 2, 0.9999f).empty());
}

TEST_CASE("cvtool embed, index build, search and dedup end to end") {
  auto dir = test::scratch_dir("embed-cli");
  // Three images: the test image, its copy, and its negative.
  cv::Mat image = cv::imread((kModels / "embed_input.png").string());
  fs::create_directories(dir / "in");
  cv::imwrite((dir / "in" / "a.png").string(), image);
  cv::imwrite((dir / "in" / "b.png").string(), image);
  cv::Mat inverted = 255 - image;
  cv::imwrite((dir / "in" / "c.png").string(), inverted);
  nlohmann::json config = {{"task", "embed"},
                            {"model", {{"path", (kModels / "embed_tuple.pt").string()}, {"output", 0}, {"input_size", {16, 12}}}},
                            {"runtime", {{"threads", 1}}}};
  test::write_bytes(dir / "embed-test.json", config.dump());
  const std::string cfg = " -c " + (dir / "embed-test.json").string();
  auto r = test::run_cvtool("embed " + (dir / "in").string() + " -o " + (dir / "vecs").string() + cfg, "embed-cli");
  REQUIRE(r.exit_code == 0);
  EmbeddingSet set = load_embedding_set(dir / "vecs");
  CHECK(set.dim == 4);
  REQUIRE(set.ids.size() == 3);
  CHECK(fs::path(set.ids[0]).filename() == "a.png");
  check_close(std::vector<float>(set.rows.begin(), set.rows.begin() + 4), expected()["avg"]);
  r = test::run_cvtool("index build " + (dir / "vecs").string() + " -o " + (dir / "index").string(), "embed-cli");
  REQUIRE(r.exit_code == 0);
  r = test::run_cvtool("search " + (dir / "in" / "c.png").string() + " --index " + (dir / "index").string() + " -k 1 --jsonl",
                       "embed-cli");
  REQUIRE(r.exit_code == 0);
  auto record = nlohmann::json::parse(r.out);
  CHECK(fs::path(record["neighbors"][0]["id"].get<std::string>()).filename() == "c.png");
  CHECK(record["neighbors"][0]["score"].get<double>() == Approx(1.0));
  // -o: one contact sheet per query, the query and its k hits in a row of 164 x 182 cells.
  r = test::run_cvtool("search " + (dir / "in" / "c.png").string() + " --index " + (dir / "index").string() + " -k 2 -o " +
                           (dir / "sheets").string(),
                       "embed-cli");
  REQUIRE(r.exit_code == 0);
  cv::Mat sheet = cv::imread((dir / "sheets" / "c.search.jpg").string());
  CHECK(sheet.size() == cv::Size(3 * 164, 182));
  r = test::run_cvtool("dedup " + (dir / "vecs").string() + " --vectors --threshold 0.999 --jsonl", "embed-cli");
  REQUIRE(r.exit_code == 0);
  auto group = nlohmann::json::parse(r.out);
  CHECK(group["size"] == 2);
  r = test::run_cvtool("index remove " + (dir / "index").string() + " --id " + set.ids[2], "embed-cli");
  CHECK(r.exit_code == 0);
  CHECK(VectorIndex::load(dir / "index").size() == 2);
}
