// Scripted torchvision Mask R-CNN: forward takes a list of 3xHxW RGB images in 0..1 and
// returns (losses, [{boxes, labels, scores, masks}]) with boxes in the pixels of the
// image it was given. Boxes, labels and scores are read by the detect family
// torchvision_detection (which also loads torchvision's operators); this file adds
// the masks. A scripted model normally pastes its masks itself (K x 1 x H x W
// probabilities); a model that returns the raw K x 1 x M x M head output has them
// pasted here with the same arithmetic as torchvision's paste_masks_in_image.
#include <algorithm>
#include <limits>

#include "../detect/family.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

// roi_heads.py: expand_masks (1 pixel of padding) + expand_boxes (by (M+2)/M) +
// paste_mask_in_image (bilinear resize to the box, cut at the image border).
torch::Tensor paste_mask(const torch::Tensor& padded, const torch::Tensor& box, int64_t im_h, int64_t im_w) {
  auto b = box.accessor<int64_t, 1>();
  const int64_t x0 = b[0], y0 = b[1], x1 = b[2], y1 = b[3];
  const int64_t w = std::max<int64_t>(x1 - x0 + 1, 1), h = std::max<int64_t>(y1 - y0 + 1, 1);
  torch::Tensor m = torch::upsample_bilinear2d(padded.expand({1, 1, -1, -1}), {h, w}, false)[0][0];
  torch::Tensor im = torch::zeros({im_h, im_w}, m.options());
  const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min<int64_t>(x1 + 1, im_w);
  const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min<int64_t>(y1 + 1, im_h);
  if (xb > xa && yb > ya)
    im.slice(0, ya, yb).slice(1, xa, xb).copy_(m.slice(0, ya - y0, yb - y0).slice(1, xa - x0, xb - x0));
  return im;
}

torch::Tensor expanded_boxes(const torch::Tensor& boxes, double scale) {
  torch::Tensor w_half = (boxes.select(1, 2) - boxes.select(1, 0)) * 0.5;
  torch::Tensor h_half = (boxes.select(1, 3) - boxes.select(1, 1)) * 0.5;
  torch::Tensor x_c = (boxes.select(1, 2) + boxes.select(1, 0)) * 0.5;
  torch::Tensor y_c = (boxes.select(1, 3) + boxes.select(1, 1)) * 0.5;
  w_half *= scale;
  h_half *= scale;
  torch::Tensor e = torch::zeros_like(boxes);
  e.select(1, 0).copy_(x_c - w_half);
  e.select(1, 2).copy_(x_c + w_half);
  e.select(1, 1).copy_(y_c - h_half);
  e.select(1, 3).copy_(y_c + h_half);
  return e.to(torch::kInt64);
}

torch::IValue result_dict(const torch::IValue& output, int64_t n) {
  torch::IValue list = output.isTuple() ? output.toTupleRef().elements().at(1) : output;
  return list.toList().get(size_t(n));
}

class TorchvisionMaskRcnn : public SegmentationFamily {
 public:
  bool instances() const override { return true; }

  std::vector<torch::IValue> make_inputs(const torch::Tensor& batch) override { return boxes_->make_inputs(batch); }

  std::vector<std::vector<InstanceCandidate>> decode_instances(const torch::IValue& output, int64_t batch,
                                                               cv::Size input_size, const InstanceParams& params,
                                                               const std::string& model) override {
    boxes_->check_output(output, batch, input_size, DecodeParams{}, model);
    DecodeParams every;  // all of them, in the model's order, so that index i is mask i
    every.score_threshold = -std::numeric_limits<float>::infinity();
    auto dets = boxes_->decode(output, batch, input_size, every);
    std::vector<std::vector<InstanceCandidate>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      auto dict = result_dict(output, n).toGenericDict();
      const int64_t k = int64_t(dets[n].size());
      if (!dict.contains("masks") || !dict.at("masks").isTensor())
        throw Error(ErrorKind::Model, model + ": family torchvision_maskrcnn: the result dict has no 'masks'");
      torch::Tensor masks = dict.at("masks").toTensor().to(torch::kCPU, torch::kFloat32);
      if (masks.dim() != 4 || masks.size(0) != k || masks.size(1) != 1 ||
          (masks.size(2) != masks.size(3) && (masks.size(2) != input_size.height || masks.size(3) != input_size.width)))
        throw Error(ErrorKind::Model, model + ": family torchvision_maskrcnn expects masks K x 1 x H x W (pasted) or K x 1 "
                                              "x M x M (head output) with K=" + std::to_string(k) + ", found " +
                                          describe_shape(masks));
      const bool pasted = masks.size(2) == input_size.height && masks.size(3) == input_size.width;
      torch::Tensor padded, boxes;
      if (!pasted) {
        const int64_t m = masks.size(3);
        padded = torch::constant_pad_nd(masks, {1, 1, 1, 1});
        boxes = expanded_boxes(dict.at("boxes").toTensor().to(torch::kCPU, torch::kFloat32), double(m + 2) / m);
      }
      for (int64_t i = 0; i < k && int(out[n].size()) < params.max_instances; ++i) {
        const Detection& d = dets[n][std::size_t(i)];
        if (d.score < params.score_threshold) continue;
        InstanceCandidate c;
        c.class_id = d.class_id;
        c.score = d.score;
        c.box = d.box;
        c.soft = pasted ? masks[i][0].contiguous()
                        : paste_mask(padded[i][0], boxes[i], input_size.height, input_size.width).contiguous();
        out[n].push_back(std::move(c));
      }
    }
    return out;
  }

 private:
  std::unique_ptr<DetectionFamily> boxes_ = make_torchvision_detection_family();
};

}  // namespace

std::unique_ptr<SegmentationFamily> make_torchvision_maskrcnn_family() {
  return std::make_unique<TorchvisionMaskRcnn>();
}

}  // namespace cvtool
