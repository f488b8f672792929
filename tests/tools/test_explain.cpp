// Saliency on hand-built models whose right answers are known (fixture tools_models,
// tests/models/make_tools_explain_models.py).
#include <catch2/catch.hpp>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/tools/explain.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-tools";

Json explain_config(const std::string& name) {
  return load_config({kModels / ("explain-" + name + ".json"), {}}, task_schema("explain"));
}

cv::Mat image(const std::string& name) {
  cv::Mat m = cv::imread((kModels / name).string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(m.empty());
  return m;
}

// Largest |value| of `map` outside the top-left `side` x `side` square.
double max_outside(const cv::Mat& map, int side) {
  double worst = 0;
  for (int y = 0; y < map.rows; ++y)
    for (int x = 0; x < map.cols; ++x)
      if (y >= side || x >= side) worst = std::max(worst, double(std::abs(map.at<float>(y, x))));
  return worst;
}

}  // namespace

TEST_CASE("the gradient of a linear model is its weights", "[explain]") {
  ExplainParams p;
  p.methods = {"gradient"};
  p.class_id = 0;
  Explainer ex(explain_config("linear"), p);
  Explanation r = ex.explain(image("grey.png"));
  NpyArray w = read_npy(kModels / "linear_w.npy");
  REQUIRE(w.shape == std::vector<std::int64_t>{3, 8, 8});
  REQUIRE(r.gradient.type() == CV_32FC3);
  double worst = 0;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x)
        worst = std::max(worst, double(std::abs(r.gradient.at<cv::Vec3f>(y, x)[c] - w.data[std::size_t(c * 64 + y * 8 + x)])));
  CHECK(worst < 1e-6);
  // The saliency map is |gradient|, max over channels.
  float expect00 = std::max({std::abs(w.data[0]), std::abs(w.data[64]), std::abs(w.data[128])});
  CHECK(r.maps.at(0).map.at<float>(0, 0) == Approx(expect00).epsilon(1e-6));
  CHECK(r.class_id == 0);
}

TEST_CASE("all three maps of a model that only sees the top-left quadrant stay in it", "[explain]") {
  ExplainParams p;
  p.layer = "features.2";
  p.class_id = 0;
  Explainer ex(explain_config("quadrant"), p);
  Explanation r = ex.explain(image("texture.png"));
  REQUIRE(r.maps.size() == 3);
  const cv::Mat& cam = r.maps[0].map;
  const cv::Mat& grad = r.maps[1].map;
  const cv::Mat& occ = r.maps[2].map;
  REQUIRE(cam.size() == cv::Size(32, 32));
  // Gradients: exactly zero where the mask is zero, non-zero inside.
  CHECK(max_outside(grad, 16) == 0.0);
  CHECK(cv::sum(grad)[0] > 0);
  // Occlusion (8 px patches, stride 4): a pixel only covered by patches wholly outside
  // the quadrant (row or column >= 20) changes nothing.
  CHECK(max_outside(occ, 20) == 0.0);
  CHECK(cv::norm(occ, cv::NORM_L1) > 0);
  // Grad-CAM on the stride-2 conv (16x16 map, upsampled): its receptive field past the
  // quadrant is a few pixels, plus the bilinear upsampling.
  CHECK(mass_fraction(cam, cv::Rect(0, 0, 20, 20)) > 0.99);
  CHECK(mass_fraction(cam, cv::Rect(0, 0, 16, 16)) > 0.9);
}

TEST_CASE("Grad-CAM captures the same activation by submodule or by op", "[explain]") {
  ExplainParams p;
  p.methods = {"gradcam"};
  p.class_id = 0;
  cv::Mat img = image("texture.png");
  p.layer = "features";
  cv::Mat a = Explainer(explain_config("quadrant"), p).explain(img).maps[0].map;
  p.layer = "features.3";
  cv::Mat b = Explainer(explain_config("quadrant"), p).explain(img).maps[0].map;
  p.layer = ":relu";  // the functional copy: its last ReLU is the same tensor
  cv::Mat c = Explainer(explain_config("functional"), p).explain(img).maps[0].map;
  p.layer = ":relu:1";
  cv::Mat d = Explainer(explain_config("functional"), p).explain(img).maps[0].map;
  CHECK(cv::norm(a, b, cv::NORM_INF) == 0.0);
  CHECK(cv::norm(a, c, cv::NORM_INF) < 1e-5);
  CHECK(cv::norm(c, d, cv::NORM_INF) == 0.0);
  CHECK(cv::norm(a, cv::NORM_INF) > 0);
}

TEST_CASE("explain refuses layers it cannot use, naming what is there", "[explain]") {
  ExplainParams p;
  p.methods = {"gradcam"};
  p.layer = "features.9";
  try {
    Explainer(explain_config("quadrant"), p);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("'features.9' not found") && Catch::Contains("0, 1, 2, 3"));
  }
  p.layer = ":conv2d:5";
  CHECK_THROWS_WITH(Explainer(explain_config("functional"), p), Catch::Contains("has 2 aten::conv2d node(s)"));
  p.layer = "fc";  // a traced model's Linear: its output has no spatial layout
  Explainer lin(explain_config("linear"), p);
  CHECK_THROWS_WITH(lin.explain(image("grey.png")), Catch::Contains("not N x C x H x W"));
  p.layer = "";
  CHECK_THROWS_WITH(Explainer(explain_config("linear"), p), Catch::Contains("explain.layer"));
}

TEST_CASE("activation maximization leaves what the layer cannot see untouched", "[explain]") {
  ExplainParams p;
  p.methods = {"gradient"};
  p.layer = "features.1";
  Explainer ex(explain_config("quadrant"), p);
  cv::Mat best = ex.maximize_activation(0, 30);
  REQUIRE(best.size() == cv::Size(32, 32));
  cv::Mat outside = best(cv::Rect(16, 16, 16, 16));
  double lo = 0, hi = 0;
  cv::minMaxLoc(outside.reshape(1), &lo, &hi);
  CHECK(lo == 128);
  CHECK(hi == 128);
  // Inside, every pixel got brighter: all the first conv's weights are positive.
  cv::Mat inside = best(cv::Rect(0, 0, 16, 16)).clone().reshape(1);
  cv::minMaxLoc(inside, &lo, &hi);
  CHECK(lo > 170);
  CHECK_THROWS_WITH(ex.maximize_activation(4, 1), Catch::Contains("has 4 channels"));
}
