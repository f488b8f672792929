// CenterNet (MobileNetV3, TF.js graph converted to TorchScript): outputs a class
// heatmap N x h x w x C (already sigmoid) and box distances N x h x w x 4 (left, top,
// right, bottom, already in input pixels), both NHWC. Peaks are heatmap points equal
// to their 3x3 neighbourhood maximum.
#include <algorithm>

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class CenterNet : public DetectionFamily {
 public:
  void check_output(const torch::IValue& output, int64_t batch, cv::Size input_size, const DecodeParams& params,
                    const std::string& model) override {
    auto t = output_tensors(output, model);
    auto fail = [&](const std::string& found) {
      throw Error(ErrorKind::Model, model + ": family centernet expects (heatmap Nxhxwx" +
                                        (params.num_labels ? std::to_string(params.num_labels) : std::string("C")) +
                                        ", boxes Nxhxwx4) with h = input/stride; found " + found);
    };
    if (t.size() != 2) fail(std::to_string(t.size()) + " outputs");
    std::string found = describe_shape(t[0]) + " and " + describe_shape(t[1]);
    if (t[0].dim() != 4 || t[1].dim() != 4 || t[0].size(0) != batch || t[1].size(3) != 4 ||
        t[0].sizes().slice(0, 3) != t[1].sizes().slice(0, 3))
      fail(found);
    if (params.num_labels && t[0].size(3) != params.num_labels) fail(found);
    if (input_size.width % t[0].size(2) != 0 || input_size.height % t[0].size(1) != 0) fail(found);
  }

  std::vector<std::vector<Detection>> decode(const torch::IValue& output, int64_t batch, cv::Size input_size,
                                             const DecodeParams& params) override {
    auto t = output_tensors(output, "centernet");
    torch::Tensor heat = t[0].to(torch::kCPU, torch::kFloat32).contiguous();  // N h w C
    torch::Tensor wh = t[1].to(torch::kCPU, torch::kFloat32).contiguous();    // N h w 4
    const int64_t h = heat.size(1), w = heat.size(2), classes = heat.size(3);
    const float stride_x = float(input_size.width) / float(w), stride_y = float(input_size.height) / float(h);
    std::vector<std::vector<Detection>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      const float* hm = heat[n].data_ptr<float>();
      const float* box = wh[n].data_ptr<float>();
      auto at = [&](int64_t y, int64_t x, int64_t c) { return hm[(y * w + x) * classes + c]; };
      // Only points above the threshold can be reported, so the 3x3 peak test (a
      // max-pool equality) runs on those few instead of pooling the whole map.
      struct Peak {
        float score;
        int64_t index;
      };
      std::vector<Peak> peaks;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          for (int64_t c = 0; c < classes; ++c) {
            float v = at(y, x, c);
            if (v < params.score_threshold) continue;
            bool is_peak = true;
            for (int64_t dy = -1; dy <= 1 && is_peak; ++dy)
              for (int64_t dx = -1; dx <= 1 && is_peak; ++dx) {
                int64_t yy = y + dy, xx = x + dx;
                if (yy >= 0 && yy < h && xx >= 0 && xx < w && at(yy, xx, c) > v) is_peak = false;
              }
            if (is_peak) peaks.push_back({v, (y * w + x) * classes + c});
          }
        }
      }
      // Best first; equal scores keep map order so results are deterministic.
      std::stable_sort(peaks.begin(), peaks.end(), [](const Peak& a, const Peak& b) { return a.score > b.score; });
      if (int64_t(peaks.size()) > params.top_k) peaks.resize(std::size_t(params.top_k));
      for (const Peak& p : peaks) {
        int64_t c = p.index % classes, x = (p.index / classes) % w, y = p.index / (classes * w);
        const float* b = box + (y * w + x) * 4;
        float cx = x * stride_x, cy = y * stride_y;
        Detection d;
        d.class_id = int(c);
        d.score = p.score;
        d.box = {cx - b[0], cy - b[1], cx + b[2], cy + b[3]};
        out[n].push_back(d);
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<DetectionFamily> make_centernet_family() { return std::make_unique<CenterNet>(); }

}  // namespace cvtool
