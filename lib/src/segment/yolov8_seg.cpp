// Ultralytics YOLOv8-seg TorchScript export: two outputs, N x (4 + C + nm) x A (rows cx,
// cy, w, h in input pixels, C class scores already sigmoid, nm mask coefficients; one
// column per anchor) and the prototypes N x nm x H/4 x W/4. A mask is
// sigmoid(coefficients . prototypes), brought to the source image like a semantic map
// and cropped to the box there: Ultralytics' process_mask_native (retina_masks).
//
// The box head is the detect family yolov8's: its decoder is reused as is (asked for
// every anchor, so that an anchor's coefficients can be found), as is detect's NMS.
#include <algorithm>
#include <limits>
#include <numeric>

#include "../detect/family.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class YoloV8Seg : public SegmentationFamily {
 public:
  bool instances() const override { return true; }

  std::vector<std::vector<InstanceCandidate>> decode_instances(const torch::IValue& output, int64_t batch,
                                                               cv::Size input_size, const InstanceParams& params,
                                                               const std::string& model) override {
    auto tensors = output_tensors(output, model);
    torch::Tensor pred, protos;
    if (tensors.size() == 2) {
      bool first_is_pred = tensors[0].dim() == 3;
      pred = tensors[first_is_pred ? 0 : 1];
      protos = tensors[first_is_pred ? 1 : 0];
    }
    const int64_t nm = protos.defined() && protos.dim() == 4 ? protos.size(1) : 0;
    const int64_t classes = pred.defined() && pred.dim() == 3 ? pred.size(1) - 4 - nm : 0;
    bool ok = nm > 0 && classes > 0 && pred.size(0) == batch && protos.size(0) == batch &&
              (params.num_labels == 0 || classes == params.num_labels);
    if (!ok) {
      std::string found;
      for (const auto& t : tensors) found += (found.empty() ? "" : ", ") + describe_shape(t);
      throw Error(ErrorKind::Model, model + ": family yolov8_seg expects two outputs, N x (4+C+nm) x A and N x nm x "
                                            "H/4 x W/4" +
                                        (params.num_labels ? " with C=" + std::to_string(params.num_labels) : "") +
                                        ", found " + std::to_string(tensors.size()) + ": " + found);
    }
    pred = pred.to(torch::kCPU, torch::kFloat32).contiguous();
    protos = protos.to(torch::kCPU, torch::kFloat32).contiguous();

    DecodeParams every;
    every.score_threshold = -std::numeric_limits<float>::infinity();
    every.top_k = int(pred.size(2));
    auto anchors = boxes_->decode(pred.narrow(1, 0, 4 + classes), batch, input_size, every);

    std::vector<std::vector<InstanceCandidate>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      const auto& all = anchors[n];  // one per anchor, in anchor order
      std::vector<int64_t> idx;
      for (std::size_t a = 0; a < all.size(); ++a)
        if (all[a].score >= params.score_threshold) idx.push_back(int64_t(a));
      // At most top_k candidates go on to NMS (best scores, ties by anchor), in anchor order.
      if (int(idx.size()) > params.top_k) {
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return all[a].score > all[b].score; });
        idx.resize(params.top_k);
        std::sort(idx.begin(), idx.end());
      }
      std::vector<Detection> candidates;
      for (int64_t a : idx) candidates.push_back(all[a]);
      std::vector<std::size_t> kept = nms(candidates, params.nms_iou, !params.class_agnostic);
      if (int(kept.size()) > params.max_instances) kept.resize(params.max_instances);
      if (kept.empty()) continue;
      std::vector<int64_t> chosen;
      for (std::size_t k : kept) chosen.push_back(idx[k]);
      torch::Tensor coeffs =
          pred[n].narrow(0, 4 + classes, nm).index_select(1, torch::tensor(chosen, torch::kInt64)).t().contiguous();
      torch::Tensor soft = torch::sigmoid(torch::matmul(coeffs, protos[n].reshape({nm, -1})))
                               .reshape({int64_t(kept.size()), protos.size(2), protos.size(3)});
      for (std::size_t i = 0; i < kept.size(); ++i) {
        const Detection& d = candidates[kept[i]];
        InstanceCandidate c;
        c.class_id = d.class_id;
        c.score = d.score;
        c.box = d.box;
        c.soft = soft[int64_t(i)].contiguous();
        c.crop_to_box = true;
        out[n].push_back(std::move(c));
      }
    }
    return out;
  }

 private:
  std::unique_ptr<DetectionFamily> boxes_ = make_yolov8_family();
};

}  // namespace

std::unique_ptr<SegmentationFamily> make_yolov8_seg_family() { return std::make_unique<YoloV8Seg>(); }

}  // namespace cvtool
