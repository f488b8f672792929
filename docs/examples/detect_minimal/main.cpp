// Detect objects in one image with libcvtool: detect_minimal CONFIG IMAGE
#include <cstdio>
#include <cvtool/core/config.hpp>
#include <cvtool/detect/detector.hpp>
#include <opencv2/imgcodecs.hpp>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: %s CONFIG IMAGE\n", argv[0]), 2;
  cvtool::Detector detector(cvtool::load_config({argv[1]}, cvtool::task_schema("detect")));
  std::vector<std::vector<cvtool::Detection>> results = detector.detect({cv::imread(argv[2])});
  for (const cvtool::Detection& d : results[0])  // one image, one list
    std::printf("%s %.2f [%.0f,%.0f,%.0f,%.0f]\n", d.label.c_str(), d.score, d.box[0], d.box[1], d.box[2], d.box[3]);
}
