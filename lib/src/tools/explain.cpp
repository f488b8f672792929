#include "cvtool/tools/explain.hpp"

#include <algorithm>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"
#include "cvtool/tools/explain_model.hpp"

namespace cvtool {

ExplainParams explain_params_from_json(const nlohmann::json& s) {
  ExplainParams p;
  p.methods = s["methods"].get<std::vector<std::string>>();
  if (s["layer"].is_string()) p.layer = s["layer"].get<std::string>();
  if (s["class"].is_number_integer()) p.class_id = s["class"].get<int>();
  p.score = s["score"].get<std::string>();
  p.occlusion_patch = s["occlusion"]["patch"].get<int>();
  p.occlusion_stride = s["occlusion"]["stride"].get<int>();
  p.occlusion_fill = s["occlusion"]["fill"].get<double>();
  p.batch = s["occlusion"]["batch"].get<int>();
  p.output = s["target"]["output"].get<int>();
  p.channel_dim = s["target"]["channel_dim"].get<int>();
  return p;
}

namespace {

cv::Mat to_mat(const torch::Tensor& hw) {
  torch::Tensor t = hw.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return cv::Mat(int(t.size(0)), int(t.size(1)), CV_32F, t.data_ptr<float>()).clone();
}

// Positions of a patch of `patch` along `n` with `stride`, the last one flush with the end.
std::vector<int> patch_starts(int n, int patch, int stride) {
  std::vector<int> s;
  if (patch >= n) return {0};
  for (int v = 0; v + patch <= n; v += stride) s.push_back(v);
  if (s.back() + patch < n) s.push_back(n - patch);
  return s;
}

}  // namespace

struct Explainer::Impl {
  ExplainParams params;
  std::unique_ptr<GradClassifier> model;

  torch::Tensor score(const torch::Tensor& logits, int cls) const {
    if (params.score == "probability") return torch::softmax(logits, 1).select(1, cls);
    return logits.select(1, cls);
  }

  cv::Mat occlusion(const torch::Tensor& px, int cls, float base) {
    torch::NoGradGuard ng;
    const int h = int(px.size(2)), w = int(px.size(3)), patch = params.occlusion_patch;
    auto ys = patch_starts(h, patch, params.occlusion_stride), xs = patch_starts(w, patch, params.occlusion_stride);
    std::vector<std::pair<int, int>> at;
    for (int y : ys)
      for (int x : xs) at.emplace_back(y, x);
    torch::Tensor sum = torch::zeros({h, w}), count = torch::zeros({h, w});
    for (std::size_t b = 0; b < at.size(); b += std::size_t(params.batch)) {
      std::size_t e = std::min(at.size(), b + std::size_t(params.batch));
      torch::Tensor batch = px.repeat({int64_t(e - b), 1, 1, 1});
      for (std::size_t i = b; i < e; ++i) {
        auto [y, x] = at[i];
        batch[int64_t(i - b)].slice(1, y, std::min(h, y + patch)).slice(2, x, std::min(w, x + patch)).fill_(params.occlusion_fill);
      }
      torch::Tensor drop = (base - score(model->logits(batch), cls)).to(torch::kCPU);
      for (std::size_t i = b; i < e; ++i) {
        auto [y, x] = at[i];
        sum.slice(0, y, std::min(h, y + patch)).slice(1, x, std::min(w, x + patch)) += drop[int64_t(i - b)];
        count.slice(0, y, std::min(h, y + patch)).slice(1, x, std::min(w, x + patch)) += 1;
      }
    }
    return to_mat(sum / count.clamp_min(1));
  }
};

Explainer::Explainer(const nlohmann::json& config, ExplainParams params) : impl_(std::make_unique<Impl>()) {
  for (const auto& m : params.methods)
    if (m != "gradcam" && m != "gradient" && m != "occlusion")
      throw Error(ErrorKind::Config, "explain.methods: unknown method '" + m + "' (gradcam, gradient, occlusion)");
  bool gradcam = std::find(params.methods.begin(), params.methods.end(), "gradcam") != params.methods.end();
  if (gradcam && params.layer.empty())
    throw Error(ErrorKind::Config, "explain.layer: gradcam needs a convolutional layer name (e.g. features.6)");
  if (params.occlusion_patch < 1 || params.occlusion_stride < 1 || params.batch < 1)
    throw Error(ErrorKind::Config, "explain.occlusion: patch, stride and batch must be >= 1");
  impl_->params = params;
  ScoreTarget target{params.output, params.channel_dim};
  impl_->model = std::make_unique<GradClassifier>(config, params.layer, target);
}

Explainer::~Explainer() = default;
Explainer::Explainer(Explainer&&) noexcept = default;

cv::Size Explainer::input_size() const { return impl_->model->input_size(); }
const std::vector<std::string>& Explainer::labels() { return impl_->model->labels(); }

Explanation Explainer::explain(const cv::Mat& image_bgr) {
  torch::AutoGradMode grad_on(true);
  Impl& im = *impl_;
  GradClassifier& model = *im.model;
  torch::Tensor px = model.pixels({image_bgr});
  torch::Tensor x = px.clone().requires_grad_(true);
  torch::Tensor logits = model.logits(x);
  // Taken now: any later forward (labels() may run one) replaces it.
  torch::Tensor act = model.activation();
  const int classes = int(logits.size(1));
  Explanation r;
  r.class_id = im.params.class_id >= 0 ? im.params.class_id : int(logits.argmax(1).item<int64_t>());
  if (r.class_id >= classes)
    throw Error(ErrorKind::Config, "explain.class: " + std::to_string(r.class_id) + " but the model has " +
                                       std::to_string(classes) + " classes");
  const auto& labels = model.labels();
  r.label = r.class_id < int(labels.size()) ? labels[std::size_t(r.class_id)] : std::to_string(r.class_id);
  r.logit = logits[0][r.class_id].item<float>();
  r.probability = torch::softmax(logits.detach(), 1)[0][r.class_id].item<float>();
  torch::Tensor s = im.score(logits, r.class_id).sum();

  std::vector<torch::Tensor> wrt{x};
  const bool want_cam = act.defined() && act.numel() > 0 && act.requires_grad();
  if (!im.params.layer.empty() && !want_cam)
    throw Error(ErrorKind::Model, model.path() + ": layer '" + im.params.layer + "' gave no activation in this forward");
  if (want_cam) wrt.push_back(act);
  auto grads = torch::autograd::grad({s}, wrt, {}, false, false, true);

  for (const auto& method : im.params.methods) {
    SaliencyMap m{method, {}};
    if (method == "gradient") {
      torch::Tensor g = grads[0][0];  // 3 x H x W
      m.map = to_mat(std::get<0>(g.abs().max(0)));
      r.gradient = cv::Mat();
      std::vector<cv::Mat> planes;
      for (int c = 0; c < 3; ++c) planes.push_back(to_mat(g[c]));
      cv::merge(planes, r.gradient);
    } else if (method == "gradcam") {
      if (act.dim() != 4)
        throw Error(ErrorKind::Model, model.path() + ": layer '" + im.params.layer + "' output is not N x C x H x W");
      torch::Tensor g = grads[1].defined() ? grads[1] : torch::zeros_like(act);
      torch::Tensor weights = g.mean({2, 3}, true);                       // 1 x K x 1 x 1
      torch::Tensor cam = torch::relu((weights * act.detach()).sum(1, true));  // 1 x 1 x h x w
      cam = torch::nn::functional::interpolate(
          cam, torch::nn::functional::InterpolateFuncOptions()
                   .size(std::vector<int64_t>{px.size(2), px.size(3)})
                   .mode(torch::kBilinear)
                   .align_corners(false));
      m.map = to_mat(cam[0][0]);
    } else {
      float base = im.score(logits.detach(), r.class_id).item<float>();
      m.map = im.occlusion(px, r.class_id, base);
    }
    r.maps.push_back(std::move(m));
  }
  return r;
}

cv::Mat Explainer::maximize_activation(int channel, int steps, double lr) {
  torch::AutoGradMode grad_on(true);
  GradClassifier& model = *impl_->model;
  if (impl_->params.layer.empty()) throw Error(ErrorKind::Config, "explain.layer: activation maximization needs a layer");
  cv::Size size = model.input_size();
  torch::Tensor p = torch::zeros({1, 3, size.height, size.width}).requires_grad_(true);
  torch::optim::Adam opt({p}, torch::optim::AdamOptions(lr));
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    torch::Tensor px = torch::sigmoid(p);
    model.logits(px);
    torch::Tensor act = model.activation();
    if (act.dim() < 2 || channel < 0 || channel >= act.size(1))
      throw Error(ErrorKind::Config, "--channel " + std::to_string(channel) + ": layer '" + impl_->params.layer + "' has " +
                                         std::to_string(act.dim() >= 2 ? act.size(1) : 0) + " channels");
    torch::Tensor objective = act.select(1, channel).mean() - 0.01 * (px - 0.5).pow(2).mean();
    (-objective).backward();
    opt.step();
  }
  return model.to_image(torch::sigmoid(p.detach())[0]);
}

cv::Mat overlay_heatmap(const cv::Mat& image_bgr, const cv::Mat& map, double alpha) {
  cv::Mat pos = cv::max(map, 0.0), resized, u8, colour, base = image_bgr;
  if (base.channels() == 1) cv::cvtColor(base, base, cv::COLOR_GRAY2BGR);
  double mx = 0;
  cv::minMaxLoc(pos, nullptr, &mx);
  cv::resize(pos, resized, base.size(), 0, 0, cv::INTER_LINEAR);
  resized.convertTo(u8, CV_8U, mx > 0 ? 255.0 / mx : 0);
  cv::applyColorMap(u8, colour, cv::COLORMAP_JET);
  cv::Mat out;
  cv::addWeighted(base, 1 - alpha, colour, alpha, 0, out);
  return out;
}

double mass_fraction(const cv::Mat& map, const cv::Rect& roi) {
  cv::Mat pos = cv::max(map, 0.0);
  double total = cv::sum(pos)[0];
  return total > 0 ? cv::sum(pos(roi & cv::Rect(0, 0, map.cols, map.rows)))[0] / total : 0;
}

}  // namespace cvtool
