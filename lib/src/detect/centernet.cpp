// CenterNet (MobileNetV3, TF.js graph converted to TorchScript): outputs a class
// heatmap N x h x w x C (already sigmoid) and box distances N x h x w x 4 (left, top,
// right, bottom, already in input pixels), both NHWC. Peaks are heatmap points equal
// to their 3x3 neighbourhood maximum.
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
    torch::Tensor heat = t[0].to(torch::kCPU, torch::kFloat32).permute({0, 3, 1, 2}).contiguous();  // N C h w
    torch::Tensor wh = t[1].to(torch::kCPU, torch::kFloat32).contiguous();                           // N h w 4
    const int64_t classes = heat.size(1), h = heat.size(2), w = heat.size(3);
    const float stride_x = float(input_size.width) / float(w), stride_y = float(input_size.height) / float(h);
    torch::Tensor pooled = torch::max_pool2d(heat, {3, 3}, {1, 1}, {1, 1});
    torch::Tensor peaks = heat * (pooled == heat);
    const int64_t k = std::min<int64_t>(params.top_k, classes * h * w);
    auto [scores, indices] = peaks.reshape({batch, -1}).topk(k, 1);
    std::vector<std::vector<Detection>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      torch::Tensor scores_n = scores[n], indices_n = indices[n], wh_n = wh[n];
      auto s = scores_n.accessor<float, 1>();
      auto idx = indices_n.accessor<int64_t, 1>();
      auto box = wh_n.accessor<float, 3>();
      for (int64_t i = 0; i < k; ++i) {
        if (s[i] < params.score_threshold) break;  // topk is sorted
        int64_t c = idx[i] / (h * w), y = (idx[i] / w) % h, x = idx[i] % w;
        float cx = x * stride_x, cy = y * stride_y;
        Detection d;
        d.class_id = int(c);
        d.score = s[i];
        d.box = {cx - box[y][x][0], cy - box[y][x][1], cx + box[y][x][2], cy + box[y][x][3]};
        out[n].push_back(d);
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<DetectionFamily> make_centernet_family() { return std::make_unique<CenterNet>(); }

}  // namespace cvtool
