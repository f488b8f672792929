// Adversarial training (config key "adversarial"): FGSM examples replace a share of
// every training batch, made against the model as it is at that step.
#include <cmath>

#include <spdlog/spdlog.h>

#include "cvtool/core/error.hpp"
#include "cvtool/tools/explain_model.hpp"
#include "cvtool/train/trainer_hooks.hpp"

namespace cvtool {

TrainHooks with_adversarial(const nlohmann::json& config, TrainHooks hooks) {
  if (!config.contains("adversarial")) return hooks;
  const auto& a = config["adversarial"];
  const std::string method = a["method"].get<std::string>();
  if (method == "none") return hooks;
  if (config["data"]["multi_label"].get<bool>())
    throw Error(ErrorKind::Config, "adversarial.method: FGSM training needs single-label data (cross-entropy)");
  if (hooks.transform_inputs)
    throw Error(ErrorKind::Config, "adversarial.method: this training already transforms its inputs");
  const double eps = a["eps"].get<double>(), ratio = a["ratio"].get<double>();
  nlohmann::json norm_spec = config["model"];
  norm_spec["layout"] = "nchw";  // the trainer always feeds NCHW
  const Normalization norm = normalization_from_config(norm_spec);
  spdlog::info("adversarial training: FGSM eps {} (0..1 pixel units) on {:.0f}% of each batch", eps, ratio * 100);
  hooks.transform_inputs = [eps, ratio, norm](torch::jit::Module& model, const torch::Tensor& x, const torch::Tensor& y) {
    // The first share of the (already shuffled) batch: deterministic for a given seed.
    const int64_t k = int64_t(std::lround(ratio * double(x.size(0))));
    if (k == 0) return x;
    torch::Tensor adv = fgsm_normalized(model, x.slice(0, 0, k), y.slice(0, 0, k), eps, norm);
    return torch::cat({adv, x.slice(0, k)}, 0);
  };
  return hooks;
}

}  // namespace cvtool
