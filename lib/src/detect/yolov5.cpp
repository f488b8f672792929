// YOLOv5 TorchScript export: one output N x A x (5 + C), columns cx, cy, w, h (input
// pixels), objectness, then C class probabilities (all already sigmoid). The score of
// a class is objectness x class probability.
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class YoloV5 : public DetectionFamily {
 public:
  void check_output(const torch::IValue& output, int64_t batch, cv::Size, const DecodeParams& params,
                    const std::string& model) override {
    auto tensors = output_tensors(output, model);  // export returns (pred,) or pred
    torch::Tensor t = tensors.empty() ? torch::Tensor() : tensors[0];
    bool ok = t.defined() && t.dim() == 3 && t.size(0) == batch && t.size(2) > 5 &&
              (params.num_labels == 0 || t.size(2) == 5 + params.num_labels);
    if (!ok)
      throw Error(ErrorKind::Model, model + ": family yolov5 expects an output NxAx(5+C)" +
                                        (params.num_labels ? " with C=" + std::to_string(params.num_labels) : "") +
                                        ", found " + (t.defined() ? describe_shape(t) : std::string("nothing")));
  }

  std::vector<std::vector<Detection>> decode(const torch::IValue& output, int64_t batch, cv::Size,
                                             const DecodeParams& params) override {
    torch::Tensor t = output_tensors(output, "yolov5")[0].to(torch::kCPU, torch::kFloat32).contiguous();
    std::vector<std::vector<Detection>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      torch::Tensor rows = t[n];  // A x (5 + C)
      torch::Tensor class_scores = rows.slice(1, 5) * rows.slice(1, 4, 5);
      auto [best, cls] = class_scores.max(1);
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
        float cx = b[a][0], cy = b[a][1], w = b[a][2], h = b[a][3];
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

std::unique_ptr<DetectionFamily> make_yolov5_family() { return std::make_unique<YoloV5>(); }

}  // namespace cvtool
