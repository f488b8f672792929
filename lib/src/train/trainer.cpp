#include "cvtool/train/trainer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/torch.h>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/core/tensor.hpp"
#include "cvtool/train/augment.hpp"
#include "cvtool/train/curves.hpp"
#include "cvtool/train/dataset.hpp"
#include "cvtool/train/distributed.hpp"
#include "cvtool/train/metrics.hpp"
#include "cvtool/train/network.hpp"
#include "cvtool/train/trainer_hooks.hpp"

namespace cvtool {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

nlohmann::json EpochMetrics::to_json() const {
  return {{"epoch", epoch},         {"lr", lr},           {"train_loss", train_loss}, {"train_accuracy", train_accuracy},
          {"val_loss", val_loss},   {"val_accuracy", val_accuracy}, {"seconds", seconds}};
}

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Images decoded once and kept at the model's input size (the resize classify uses).
struct ImageSet {
  std::vector<cv::Mat> images;
  std::vector<std::vector<int>> labels;
};

ImageSet load_images(const Dataset& d, cv::Size size, const std::string& resize, std::int64_t max_pixels) {
  ImageSet s;
  DecodeLimits limits;
  limits.max_pixels = max_pixels;
  std::size_t failed = 0;
  for (const auto& item : d.items) {
    try {
      s.images.push_back(classifier_input(decode_image(item.path, limits), size, resize, 0));
      s.labels.push_back(item.labels);
    } catch (const Error& e) {
      // A bad image fails alone: it is left out and named.
      spdlog::warn("skipping {}", e.what());
      ++failed;
    }
  }
  if (failed) spdlog::warn("{} of {} images could not be read and are left out", failed, d.items.size());
  return s;
}

struct LossSpec {
  bool multi_label = false;
  bool focal = false;
  double gamma = 2.0;
  double smoothing = 0;
  torch::Tensor weights;  // per class, or undefined
};

// Per-sample loss (N).
torch::Tensor per_sample_loss(const torch::Tensor& logits, const torch::Tensor& targets, const LossSpec& s) {
  if (s.multi_label) {
    torch::Tensor l = torch::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::None);
    if (s.focal) {
      torch::Tensor p = torch::sigmoid(logits);
      torch::Tensor pt = p * targets + (1 - p) * (1 - targets);
      l = l * torch::pow(1 - pt, s.gamma);
    }
    if (s.weights.defined()) l = l * (targets * s.weights.unsqueeze(0) + (1 - targets));
    return l.sum(1);
  }
  torch::Tensor logp = torch::log_softmax(logits, 1);
  torch::Tensor nll = -logp.gather(1, targets.unsqueeze(1)).squeeze(1);
  torch::Tensor l = s.smoothing > 0 ? (1 - s.smoothing) * nll - s.smoothing * logp.mean(1) : nll;
  if (s.focal) l = l * torch::pow(1 - torch::exp(-nll), s.gamma);
  if (s.weights.defined()) l = l * s.weights.index_select(0, targets);
  return l;
}

struct BatchMaker {
  const ImageSet* set = nullptr;
  const Augmenter* augmenter = nullptr;  // null: no augmentation
  Normalization norm;
  bool multi_label = false;
  int num_classes = 0;
  std::uint64_t seed = 0;

  // `positions` index `order`; the augmentation seed is keyed by (epoch, position), so
  // it does not depend on which rank draws the sample.
  std::pair<torch::Tensor, torch::Tensor> make(const std::vector<std::size_t>& order, std::size_t from, std::size_t to,
                                               int epoch) const {
    std::vector<cv::Mat> imgs;
    std::vector<std::int64_t> ids;
    torch::Tensor multi = torch::zeros({std::int64_t(to - from), num_classes});
    for (std::size_t k = from; k < to; ++k) {
      std::size_t i = order[k];
      const cv::Mat& img = set->images[i];
      imgs.push_back(augmenter ? augmenter->apply(img, mix_seed(mix_seed(seed, std::uint64_t(epoch)), k)) : img);
      const auto& labels = set->labels[i];
      ids.push_back(labels.empty() ? 0 : labels[0]);
      for (int l : labels) multi[std::int64_t(k - from)][l] = 1.0f;
    }
    torch::Tensor x = images_to_tensor(imgs, norm);
    torch::Tensor y = multi_label ? multi : torch::tensor(ids, torch::kLong);
    return {x, y};
  }
};

// A one-line bar per epoch on stderr, drawn only on a terminal (or when asked).
class EpochBar {
 public:
  EpochBar(int epoch, int epochs, std::size_t total, bool enabled)
      : epoch_(epoch), epochs_(epochs), total_(total), enabled_(enabled) {}
  void update(std::size_t done, double loss, double acc) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    int width = 30, fill = total_ ? int(width * double(done) / double(total_)) : width;
    std::fprintf(stderr, "\repoch %d/%d [%s%s] %zu/%zu loss %.4f acc %.3f", epoch_, epochs_, std::string(std::size_t(fill), '#').c_str(),
                 std::string(std::size_t(width - fill), '.').c_str(), done, total_, loss, acc);
    std::fflush(stderr);
  }
  void finish() {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  int epoch_, epochs_;
  std::size_t total_;
  bool enabled_;
  Clock::time_point last_{};
};

void set_lr(torch::optim::Optimizer& opt, bool adam, double lr) {
  for (auto& g : opt.param_groups()) {
    if (adam) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    else static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
  }
}

double scheduled_lr(const nlohmann::json& o, int epoch) {
  double lr = o["lr"].get<double>();
  int warm = o["warmup_epochs"].get<int>(), epochs = o["epochs"].get<int>();
  if (epoch < warm) return lr * double(epoch + 1) / double(warm + 1);
  std::string s = o["schedule"].get<std::string>();
  if (s == "cosine") return lr * 0.5 * (1 + std::cos(M_PI * double(epoch - warm) / double(std::max(1, epochs - warm))));
  if (s == "step") return lr * std::pow(o["gamma"].get<double>(), double((epoch - warm) / o["step_size"].get<int>()));
  return lr;
}

struct EvalResult {
  double loss = 0;
  ConfusionMatrix confusion;
};

// Per-sample seeds of TrainHooks::transform_batch, salted apart from the augmentation
// seeds (which are keyed the same way).
std::uint64_t transform_seed(std::uint64_t seed, std::uint64_t key, std::uint64_t sample) {
  return mix_seed(mix_seed(mix_seed(seed, key), sample), 0x7A45F0B3ull);
}
constexpr std::uint64_t kValidationKey = ~0ull;  // epochs key training seeds

// Loss and confusion over `set`, sharded across ranks and summed.
EvalResult evaluate(torch::jit::Module& model, const BatchMaker& maker, const LossSpec& loss, DataParallel& dp,
                    int num_classes, const TrainHooks& hooks) {
  torch::NoGradGuard no_grad;
  model.eval();
  const std::size_t n = maker.set->images.size();
  std::vector<std::size_t> mine;
  for (std::size_t i = std::size_t(dp.rank()); i < n; i += std::size_t(dp.world_size())) mine.push_back(i);
  double loss_sum = 0;
  ConfusionMatrix cm(num_classes);
  for (std::size_t b = 0; b < mine.size(); b += 128) {
    std::size_t e = std::min(mine.size(), b + 128);
    auto [x, y] = maker.make(mine, b, e, 0);
    if (hooks.transform_batch) {
      std::vector<std::uint64_t> seeds;
      for (std::size_t k = b; k < e; ++k) seeds.push_back(transform_seed(maker.seed, kValidationKey, mine[k]));
      std::tie(x, y) = hooks.transform_batch(x, y, seeds);
    }
    torch::Tensor logits = model.forward({x}).toTensor();
    loss_sum += per_sample_loss(logits, y, loss).sum().item<double>();
    if (maker.multi_label) {
      torch::Tensor pred = (torch::sigmoid(logits) >= 0.5).to(torch::kInt).contiguous();
      torch::Tensor truth = y.to(torch::kInt).contiguous();
      for (std::int64_t i = 0; i < pred.size(0); ++i) {
        std::vector<int> t(truth[i].data_ptr<int>(), truth[i].data_ptr<int>() + num_classes);
        std::vector<int> p(pred[i].data_ptr<int>(), pred[i].data_ptr<int>() + num_classes);
        cm.add_multi(t, p);
      }
    } else {
      torch::Tensor pred = logits.argmax(1);
      for (std::int64_t i = 0; i < pred.size(0); ++i) cm.add(int(y[i].item<std::int64_t>()), int(pred[i].item<std::int64_t>()));
    }
  }
  if (dp.world_size() > 1) {
    auto counts = cm.counts();
    std::vector<torch::Tensor> t = {torch::tensor(std::vector<double>(counts.begin(), counts.end()), torch::kFloat64),
                                    torch::tensor(std::vector<double>{loss_sum}, torch::kFloat64)};
    dp.all_reduce_sum(t);
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = std::int64_t(std::llround(t[0][std::int64_t(i)].item<double>()));
    counts.back() = cm.counts().back();  // the multi-label flag is not a count
    cm.set_counts(counts);
    loss_sum = t[1][0].item<double>();
  }
  EvalResult r{n ? loss_sum / double(n) : 0.0, cm};
  return r;
}

void save_module(torch::jit::Module& m, const fs::path& path) {
  bool training = m.is_training();
  m.eval();
  fs::path tmp = path;
  tmp += ".tmp";
  m.save(tmp.string());
  fs::rename(tmp, path);
  m.train(training);
}

nlohmann::json classify_config(const nlohmann::json& config, const std::string& model_file, int num_classes) {
  const auto& m = config["model"];
  bool multi = config["data"]["multi_label"].get<bool>();
  return {{"task", "classify"},
          {"description", "trained by cvtool train classify" +
                              (config["description"].get<std::string>().empty() ? "" : ": " + config["description"].get<std::string>())},
          {"model",
           {{"path", model_file},
            {"input_size", m["input_size"]},
            {"resize", m["resize"]},
            {"color", m["color"]},
            {"scale", m["scale"]},
            {"mean", m["mean"]},
            {"std", m["std"]},
            {"layout", "nchw"},
            {"labels", "labels.txt"}}},
          {"post", {{"top_k", std::min(5, num_classes)}, {"multi_label", multi}, {"threshold", 0.5}}}};
}

}  // namespace

TrainResult train_classifier(const nlohmann::json& config, const TrainRun& run) {
  return train_classifier(config, run, TrainHooks{});
}

TrainResult train_classifier(const nlohmann::json& config, const TrainRun& run, const TrainHooks& given_hooks) {
  const auto start = Clock::now();
  const TrainHooks hooks = with_adversarial(config, given_hooks);
  DataParallel dp = DataParallel::from_env();
  const bool main_rank = dp.is_main();
  if (dp.world_size() > 1) spdlog::info("data-parallel rank {} of {}", dp.rank(), dp.world_size());
  // Training runs eagerly through the interpreter: no profiling re-specialisation, and
  // autograd sees plain ops.
  torch::jit::setGraphExecutorOptimize(false);

  const auto& data = config["data"];
  const auto& mc = config["model"];
  const auto& oc = config["optim"];
  const auto& lc = config["loss"];
  const auto seed = config["seed"].get<std::uint64_t>();
  const bool multi = data["multi_label"].get<bool>();
  if (data["train"].is_null()) throw Error(ErrorKind::Config, "data.train: no training data given (--data)");
  fs::path out_dir(run.output_dir);
  if (out_dir.empty()) throw Error(ErrorKind::Usage, "no run folder given (-o)");
  if (main_rank) fs::create_directories(out_dir);

  // Data.
  std::vector<std::string> classes;
  if (!data["classes"].is_null()) classes = data["classes"].get<std::vector<std::string>>();
  Dataset all = hooks.load_data ? hooks.load_data(data["train"].get<std::string>())
                                : load_dataset(data["train"].get<std::string>(), multi, classes);
  TrainValSplit split;
  if (!data["val"].is_null()) {
    split.train = all;
    split.val = hooks.load_data ? hooks.load_data(data["val"].get<std::string>())
                                : load_dataset(data["val"].get<std::string>(), multi, all.classes);
  } else {
    split = split_dataset(all, data["val_fraction"].get<double>(), seed);
  }
  // What the head predicts: the dataset's classes, or the hook's when targets are made.
  const std::vector<std::string>& head_classes = hooks.classes.empty() ? all.classes : hooks.classes;
  const int num_classes = int(head_classes.size());
  if (num_classes < 2 && !multi) throw Error(ErrorKind::Config, data["train"].get<std::string>() + ": needs at least two classes");
  const cv::Size size(mc["input_size"][0].get<int>(), mc["input_size"][1].get<int>());
  const std::string resize = mc["resize"].get<std::string>();
  const auto max_pixels = config["input"]["max_pixels"].get<std::int64_t>();
  ImageSet train_set = load_images(split.train, size, resize, max_pixels);
  ImageSet val_set = load_images(split.val, size, resize, max_pixels);
  if (train_set.images.empty()) throw Error(ErrorKind::Config, "no readable training images");
  // Sampling and class weights see only the readable images.
  Dataset train_readable{all.classes, {}, multi};
  for (auto& l : train_set.labels) train_readable.items.push_back({"", l});
  if (val_set.images.empty()) spdlog::warn("no validation images: val metrics and early stopping use the training set");
  const ImageSet& val_ref = val_set.images.empty() ? train_set : val_set;
  if (main_rank) {
    auto counts = class_counts(train_readable);
    std::string c;
    for (std::size_t i = 0; i < all.classes.size(); ++i) c += (i ? ", " : "") + all.classes[i] + ":" + std::to_string(counts[i]);
    spdlog::info("{} classes, {} train / {} val images ({})", num_classes, train_set.images.size(), val_set.images.size(), c);
  }

  // Model.
  torch::manual_seed(seed);
  fs::path last_path = out_dir / "last.pt", best_path = out_dir / "best.pt", optim_path = out_dir / "optimizer.pt",
           state_path = out_dir / "state.json";
  bool resuming = run.resume && fs::exists(last_path);
  if (run.resume && !resuming) throw Error(ErrorKind::Usage, last_path.string() + ": no checkpoint to resume from");
  torch::jit::Module model;
  if (resuming) {
    model = torch::jit::load(last_path.string());
  } else {
    torch::jit::Module backbone;
    if (!mc["backbone"].is_null()) {
      const std::string path = mc["backbone"].get<std::string>();
      try {
        backbone = torch::jit::load(path);
      } catch (const c10::Error& e) {
        throw Error(ErrorKind::Model, path + ": not a TorchScript backbone: " + e.what_without_backtrace());
      }
      // A classifier exported by cvtool contributes its backbone; its old head is dropped.
      if (backbone.hasattr("head_weight") && backbone.hasattr("backbone")) {
        backbone = backbone.attr("backbone").toModule();
        spdlog::info("{}: a cvtool classifier; using its backbone", path);
      }
    } else {
      SmallCnnOptions so;
      so.width = mc["width"].get<int>();
      so.blocks = mc["blocks"].get<int>();
      so.batch_norm = mc["batch_norm"].get<bool>();
      backbone = make_small_cnn(so);
    }
    std::int64_t dim = backbone_feature_dim(backbone, size.height, size.width);
    model = make_classifier(backbone, dim, num_classes, mc["dropout"].get<double>());
  }
  for (auto p : model.parameters(true)) p.set_requires_grad(true);
  std::string freeze = mc["freeze"].is_null() ? "" : mc["freeze"].get<std::string>();
  if (!freeze.empty() && mc["backbone"].is_null() && !resuming) spdlog::warn("model.freeze with the built-in CNN freezes its layers too");
  auto frozen = freeze_backbone(model, freeze);
  if (main_rank && !frozen.empty()) spdlog::info("frozen: {} backbone parameters (up to {})", frozen.size(), frozen.back());
  {
    // Every rank starts from rank 0's weights and buffers.
    std::vector<torch::Tensor> state;
    for (const auto& p : model.parameters(true)) state.push_back(p);
    for (const auto& b : model.buffers(true)) state.push_back(b);
    dp.broadcast_from_main(state);
  }
  std::vector<torch::Tensor> params = trainable_parameters(model);
  std::int64_t n_trainable = 0;
  for (auto& p : params) n_trainable += p.numel();
  if (main_rank) spdlog::info("{} trainable parameters", n_trainable);

  const bool adam = oc["optimizer"] == "adam";
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (adam)
    optimizer = std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(oc["lr"].get<double>()).weight_decay(oc["weight_decay"].get<double>()));
  else
    optimizer = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(oc["lr"].get<double>())
                                                                .momentum(oc["momentum"].get<double>())
                                                                .weight_decay(oc["weight_decay"].get<double>()));

  TrainResult result;
  result.classes = head_classes;
  int first_epoch = 0, bad_epochs = 0;
  result.best_val_loss = std::numeric_limits<double>::infinity();
  if (resuming) {
    torch::load(*optimizer, optim_path.string());
    std::ifstream in(state_path);
    nlohmann::json st = nlohmann::json::parse(in);
    first_epoch = st["epoch"].get<int>();
    bad_epochs = st["bad_epochs"].get<int>();
    result.best_val_loss = st["best_val_loss"].is_null() ? std::numeric_limits<double>::infinity() : st["best_val_loss"].get<double>();
    result.best_epoch = st["best_epoch"].get<int>();
    if (main_rank) spdlog::info("resuming {} after epoch {}", last_path.string(), first_epoch);
  }

  LossSpec loss;
  loss.multi_label = multi;
  loss.focal = lc["type"] == "focal";
  loss.gamma = lc["focal_gamma"].get<double>();
  loss.smoothing = lc["label_smoothing"].get<double>();
  if (lc["class_weights"] != "none") {
    if (!hooks.classes.empty())
      throw Error(ErrorKind::Config, "loss.class_weights: needs labelled data; these targets are made from the images");
    auto w = class_weights(train_readable, lc["class_weights"].get<std::string>());
    loss.weights = torch::tensor(w);
  }
  AugmentParams aug_params = augment_params_from_json(config["augment"]);
  Augmenter augmenter(aug_params);
  nlohmann::json norm_spec = mc;
  norm_spec["layout"] = "nchw";  // the trainer always feeds NCHW
  BatchMaker train_maker{&train_set, aug_params.any() ? &augmenter : nullptr, normalization_from_config(norm_spec), multi,
                         num_classes, seed};
  BatchMaker val_maker = train_maker;
  val_maker.set = &val_ref;
  val_maker.augmenter = nullptr;

  const int epochs = oc["epochs"].get<int>();
  const auto global_batch = std::size_t(oc["batch"].get<int>());
  const int patience = oc["early_stopping"].get<int>();
  const std::string sampler = config["sampler"].get<std::string>();
  const int checkpoint_every = config["runtime"]["checkpoint_every"].get<int>();
  bool bar_on = run.progress == "on" || (run.progress == "auto" && isatty(2));

  for (int epoch = first_epoch; epoch < epochs; ++epoch) {
    const auto t0 = Clock::now();
    const double lr = scheduled_lr(oc, epoch);
    set_lr(*optimizer, adam, lr);
    std::vector<std::size_t> order = epoch_order(train_readable, sampler, seed, epoch);
    set_train_mode(model, true);
    EpochBar bar(epoch + 1, epochs, order.size(), bar_on && main_rank);
    double loss_sum = 0, correct = 0, seen = 0;
    for (std::size_t b = 0; b < order.size(); b += global_batch) {
      const std::size_t e = std::min(order.size(), b + global_batch), n = e - b;
      const std::size_t from = b + n * std::size_t(dp.rank()) / std::size_t(dp.world_size());
      const std::size_t to = b + n * std::size_t(dp.rank() + 1) / std::size_t(dp.world_size());
      optimizer->zero_grad();
      if (to > from) {
        auto [x, y] = train_maker.make(order, from, to, epoch);
        if (hooks.transform_batch) {
          std::vector<std::uint64_t> seeds;
          for (std::size_t k = from; k < to; ++k) seeds.push_back(transform_seed(seed, std::uint64_t(epoch), k));
          std::tie(x, y) = hooks.transform_batch(x, y, seeds);
        }
        if (hooks.transform_inputs) x = hooks.transform_inputs(model, x, y);
        torch::Tensor logits = model.forward({x}).toTensor();
        torch::Tensor l = hooks.loss ? hooks.loss(model, x, y, logits) : per_sample_loss(logits, y, loss);
        // Sum over the local share / size of the global batch: summing gradients over
        // ranks then gives exactly the global-batch mean.
        (l.sum() / double(n)).backward();
        loss_sum += l.sum().item<double>();
        torch::NoGradGuard ng;
        if (multi) correct += ((logits >= 0).to(torch::kFloat) == y).all(1).sum().item<double>();
        else correct += (logits.argmax(1) == y).sum().item<double>();
      }
      if (dp.world_size() > 1) {
        std::vector<torch::Tensor> grads;
        for (auto& p : params) {
          if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
          grads.push_back(p.mutable_grad());
        }
        dp.all_reduce_sum(grads);
      }
      optimizer->step();
      seen += double(to - from);
      bar.update(e, seen ? loss_sum / seen : 0, seen ? correct / seen : 0);
    }
    bar.finish();
    if (dp.world_size() > 1) {
      // Batch-norm statistics drift apart per rank: average them.
      std::vector<torch::Tensor> buffers;
      for (const auto& bfr : model.buffers(true)) buffers.push_back(bfr);
      std::vector<torch::Tensor> stats = {torch::tensor(std::vector<double>{loss_sum, correct, seen}, torch::kFloat64)};
      dp.all_reduce_sum(stats);
      loss_sum = stats[0][0].item<double>();
      correct = stats[0][1].item<double>();
      seen = stats[0][2].item<double>();
      if (!buffers.empty()) {
        dp.all_reduce_sum(buffers);
        torch::NoGradGuard ng;
        for (auto& bfr : buffers)
          if (bfr.is_floating_point()) bfr.div_(dp.world_size());
      }
    }
    EvalResult ev = evaluate(model, val_maker, loss, dp, num_classes, hooks);
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = lr;
    m.train_loss = seen ? loss_sum / seen : 0;
    m.train_accuracy = seen ? correct / seen : 0;
    m.val_loss = ev.loss;
    m.val_accuracy = ev.confusion.accuracy();
    m.seconds = seconds_since(t0);
    result.epochs.push_back(m);
    const bool improved = m.val_loss < result.best_val_loss;
    if (improved) {
      result.best_val_loss = m.val_loss;
      result.best_epoch = m.epoch;
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    if (main_rank) {
      spdlog::info("epoch {}/{}: lr {:.2e} train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f}{} ({:.1f} s)", m.epoch,
                   epochs, lr, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy, improved ? " *" : "", m.seconds);
      std::ofstream(out_dir / "metrics.jsonl", std::ios::app) << m.to_json().dump() << "\n";
      if (improved) save_module(model, best_path);
      if (m.epoch % checkpoint_every == 0 || m.epoch == epochs) {
        save_module(model, last_path);
        torch::save(*optimizer, optim_path.string());
        nlohmann::json st = {{"epoch", m.epoch},
                             {"bad_epochs", bad_epochs},
                             {"best_epoch", result.best_epoch},
                             {"best_val_loss", std::isfinite(result.best_val_loss) ? nlohmann::json(result.best_val_loss) : nlohmann::json()}};
        write_file_atomic(state_path, st.dump(2) + "\n");
      }
    }
    if (patience > 0 && bad_epochs >= patience) {
      result.stopped_early = true;
      if (main_rank) spdlog::info("early stop: val loss has not improved for {} epochs (best: epoch {})", patience, result.best_epoch);
      break;
    }
  }
  dp.barrier();

  // The best model by val loss: final metrics, then the export.
  if (fs::exists(best_path)) model = torch::jit::load(best_path.string());
  EvalResult final_eval = evaluate(model, val_maker, loss, dp, num_classes, hooks);
  result.final_metrics = final_eval.confusion.to_json(head_classes);
  result.final_metrics["loss"] = final_eval.loss;
  result.final_metrics["best_epoch"] = result.best_epoch;
  result.seconds = seconds_since(start);
  result.final_metrics["train_seconds"] = result.seconds;
  result.model_path = (out_dir / run.export_name).string();
  result.config_path = (out_dir / "classify.json").string();
  if (main_rank) {
    std::fprintf(stderr, "%s", final_eval.confusion.to_text(head_classes).c_str());
    write_file_atomic(out_dir / "metrics.json", result.final_metrics.dump(2) + "\n");
    write_image_atomic(out_dir / "confusion.png", final_eval.confusion.render(head_classes));
    write_image_atomic(out_dir / "curves.png", render_training_curves(out_dir / "metrics.jsonl"));
    save_module(model, result.model_path);
    std::string labels;
    for (const auto& c : head_classes) labels += c + "\n";
    write_file_atomic(out_dir / "labels.txt", labels);
    write_file_atomic(result.config_path, classify_config(config, run.export_name, num_classes).dump(2) + "\n");
    spdlog::info("exported {} and {} ({:.1f} s)", result.model_path, result.config_path, result.seconds);
  }
  dp.barrier();
  return result;
}

}  // namespace cvtool
