// Ultralytics YOLOv8 TorchScript export: one output N x (4 + C) x A, rows cx, cy, w, h
// (input pixels) then C class scores (already sigmoid), one column per anchor.
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class YoloV8 : public DetectionFamily {
 public:
  void check_output(const torch::IValue& output, int64_t batch, cv::Size, const DecodeParams& params,
                    const std::string& model) override {
    torch::Tensor t = single_output(output, "yolov8", model);
    bool ok = t.dim() == 3 && t.size(0) == batch && t.size(1) > 4 &&
              (params.num_labels == 0 || t.size(1) == 4 + params.num_labels);
    if (!ok)
      throw Error(ErrorKind::Model, model + ": family yolov8 expects one output Nx(4+C)xA" +
                                        (params.num_labels ? " with C=" + std::to_string(params.num_labels) : "") +
                                        ", found " + describe_shape(t));
  }

  std::vector<std::vector<Detection>> decode(const torch::IValue& output, int64_t batch, cv::Size,
                                             const DecodeParams& params) override {
    torch::Tensor t = single_output(output, "yolov8", "yolov8").to(torch::kCPU, torch::kFloat32).contiguous();
    std::vector<std::vector<Detection>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      torch::Tensor rows = t[n];  // (4 + C) x A
      auto [best, cls] = rows.slice(0, 4).max(0);
      torch::Tensor keep = (best >= params.score_threshold).nonzero().squeeze(1);
      // At most post.top_k candidates go on to NMS, still in anchor order.
      if (keep.size(0) > params.top_k)
        keep = std::get<0>(keep.index_select(0, std::get<1>(best.index_select(0, keep).topk(params.top_k))).sort());
      auto b = rows.accessor<float, 2>();
      auto score = best.accessor<float, 1>();
      auto klass = cls.accessor<int64_t, 1>();
      auto kept = keep.accessor<int64_t, 1>();
      for (int64_t i = 0; i < kept.size(0); ++i) {
        int64_t a = kept[i];
        float cx = b[0][a], cy = b[1][a], w = b[2][a], h = b[3][a];
        Detection d;
        d.class_id = int(klass[a]);
        d.score = score[a];
        d.box = {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
        out[n].push_back(d);
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<DetectionFamily> make_yolov8_family() { return std::make_unique<YoloV8>(); }

}  // namespace cvtool
