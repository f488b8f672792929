// `cvtool prune`: prune, optionally fine-tune with the mask fixed, save, then measure the
// original and pruned files as deployed (loaded from disk through Model), like quantize.
#include "cvtool/tools/prune.hpp"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/forward_timing.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/core/tensor.hpp"
#include "cvtool/tools/prune_module.hpp"
#include "cvtool/tools/tool_eval.hpp"
#include "cvtool/train/trainer_hooks.hpp"

namespace cvtool {

namespace fs = std::filesystem;

nlohmann::json PruneRow::to_json() const {
  nlohmann::json j = {{"variant", variant},
                      {"path", path},
                      {"size_bytes", size_bytes},
                      {"compressed_bytes", compressed_bytes},
                      {"parameters", parameters},
                      {"nonzero", nonzero},
                      {"latency_ms", latency_ms},
                      {"eval_images", eval_images},
                      {"top1_agreement", top1_agreement}};
  j["accuracy"] = accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(accuracy);
  return j;
}

nlohmann::json PruneLayerRow::to_json() const {
  return {{"name", name},       {"op", op},         {"shape_before", shape_before}, {"shape_after", shape_after},
          {"weights", weights}, {"zeros", zeros},   {"sparsity", weights ? double(zeros) / double(weights) : 0.0},
          {"channels_pruned", channels_pruned}};
}

long long compressed_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Output, path + ": cannot read back");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uLongf n = compressBound(static_cast<uLong>(bytes.size()));
  std::vector<Bytef> out(n);
  if (compress2(out.data(), &n, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uLong>(bytes.size()), 9) != Z_OK)
    throw Error(ErrorKind::Internal, path + ": zlib failed");
  return static_cast<long long>(n);
}

namespace {

void save_module(const torch::jit::Module& m, const std::string& path) {
  std::ostringstream bytes;
  m.save(bytes);
  write_file_atomic(path, bytes.str());
}

// Fine-tuning state shared by the trainer hooks: the trainer builds a fresh classifier
// (new head) over the pruned backbone, so the first hook call restores the pruned head,
// and every step keeps the pruned weights at zero: their gradients are masked (so Adam /
// SGD momentum and weight decay never move them) and the mask is re-applied before each
// forward.
struct FinetuneState {
  torch::Tensor head_weight, head_bias;
  std::map<std::string, torch::Tensor> masks;
  bool ready = false;
};

TrainHooks mask_hooks(std::shared_ptr<FinetuneState> st) {
  TrainHooks hooks;
  hooks.transform_inputs = [st](torch::jit::Module& model, const torch::Tensor& x, const torch::Tensor&) {
    if (!st->ready) {
      torch::NoGradGuard no_grad;
      torch::Tensor hw = model.attr("head_weight").toTensor(), hb = model.attr("head_bias").toTensor();
      if (hw.sizes() != st->head_weight.sizes())
        throw Error(ErrorKind::Config, "prune fine-tuning: the data has " + std::to_string(hw.size(0)) +
                                           " classes, the model's head " + std::to_string(st->head_weight.size(0)));
      hw.copy_(st->head_weight);
      hb.copy_(st->head_bias);
      for (const auto& p : model.named_parameters(true)) {
        auto it = st->masks.find(p.name);
        if (it == st->masks.end() || !p.value.requires_grad()) continue;
        torch::Tensor mask = it->second;
        torch::Tensor t = p.value;
        t.register_hook([mask](const torch::Tensor& g) { return g * mask; });
      }
      st->ready = true;
    }
    apply_masks(model, st->masks);
    return x;
  };
  return hooks;
}

// The train config for fine-tuning: finetune.config (or the train schema's defaults),
// with the data, the pruned model as backbone, this model's preprocessing, and the
// finetune section's epochs / lr.
nlohmann::json finetune_config(const nlohmann::json& config, const std::string& data, const std::string& backbone) {
  const auto& m = config["model"];
  const auto& ft = config["finetune"];
  ConfigSources src;
  if (!ft["config"].is_null()) src.file = ft["config"].get<std::string>();
  auto set = [&](const std::string& key, const nlohmann::json& v) { src.overrides.push_back(key + "=" + v.dump()); };
  set("task", "train");
  set("data.train", fs::absolute(data).string());
  set("model.backbone", fs::absolute(backbone).string());
  for (const char* k : {"input_size", "resize", "color", "scale", "mean", "std"}) set(std::string("model.") + k, m[k]);
  set("optim.epochs", ft["epochs"]);
  set("optim.lr", ft["lr"]);
  set("optim.early_stopping", 0);
  set("runtime.threads", config["runtime"]["threads"]);
  return load_config(src, task_schema("train"));
}

struct Evaluator {
  std::vector<torch::Tensor> inputs;
  std::vector<int> truth;
  bool has_truth = false;
  int out_index = 0, warmup = 20, runs = 100;
  std::vector<int64_t> reference;  // arg-max of the original

  PruneRow measure(const std::string& variant, const std::string& path) {
    PruneRow row{variant, path};
    row.size_bytes = static_cast<long long>(fs::file_size(path));
    row.compressed_bytes = compressed_size(path);
    for (const auto& l : weight_layers(torch::jit::load(path))) {
      row.parameters += l.weights;
      row.nonzero += l.weights - l.zeros;
    }
    Model model(path, {});
    int correct = 0, agree = 0;
    bool first = reference.empty();
    for (size_t i = 0; i < inputs.size(); ++i) {
      int64_t a = model_output(model, inputs[i], out_index).argmax(1).item<int64_t>();
      if (first) reference.push_back(a);
      agree += a == reference[i];
      correct += a == truth[i];
    }
    const double n = static_cast<double>(inputs.size());
    row.eval_images = static_cast<int>(inputs.size());
    if (has_truth) row.accuracy = correct / n;
    row.top1_agreement = agree / n;
    row.latency_ms = median_forward_ms(model, inputs.at(0), warmup, runs);
    return row;
  }
};

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", 100 * v);
  return std::string(buf) + "%";
}

}  // namespace

PruneReport run_prune(const nlohmann::json& config, const PruneJob& job) {
  const auto& m = config["model"];
  const auto& p = config["prune"];
  const auto& bench = config["bench"];
  const std::string in_path = m["path"];
  PruneModuleOptions opt;
  opt.method = parse_prune_method(p["method"]);
  opt.scope = parse_prune_scope(p["scope"]);
  opt.sparsity = p["sparsity"];
  if (job.output_path.empty()) throw Error(ErrorKind::Usage, "prune needs -o OUT.pt for the pruned model");

  torch::jit::Module original;
  try {
    original = torch::jit::load(in_path);
  } catch (const c10::Error&) {
    throw Error(ErrorKind::Model, in_path + ": not a loadable TorchScript model");
  }
  const bool finetune = !job.finetune_data.empty();
  if (finetune && !is_small_cnn_classifier(original))
    throw Error(ErrorKind::Usage, in_path + ": --finetune-data needs a cvtool classifier over the built-in small CNN "
                                            "(`cvtool train classify`); other models are pruned frozen and cannot be trained");

  // Evaluation inputs first: a bad image list fails before any work.
  Normalization norm = normalization_from_config(m);
  cv::Size size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>());
  auto eval_paths = spread_sample(job.eval_images, bench["eval_images"].get<int>());
  if (eval_paths.empty()) throw Error(ErrorKind::Usage, "prune needs evaluation images (files, folders, globs)");
  Evaluator ev;
  auto labels = read_model_labels(m);
  for (const auto& path : eval_paths) {
    ev.inputs.push_back(images_to_tensor({classifier_input(decode_image(path), size, m["resize"], m["pad_value"])}, norm));
    ev.truth.push_back(image_folder_label(path, labels));
  }
  ev.has_truth = std::all_of(ev.truth.begin(), ev.truth.end(), [](int t) { return t >= 0; });
  ev.out_index = m["output"];
  ev.warmup = bench["warmup"];
  ev.runs = bench["runs"];

  PruneModuleResult pruned = prune_module(original, opt);
  PruneReport report;
  report.method = to_string(opt.method);
  report.scope = opt.method == PruneMethod::Unstructured ? to_string(opt.scope) : "layer";
  report.sparsity = opt.sparsity;
  report.physical = pruned.physical;
  report.frozen = pruned.frozen;

  std::string pruned_path = job.output_path;
  std::string run_dir = job.finetune_dir.empty() ? job.output_path + ".finetune" : job.finetune_dir;
  if (finetune) {
    fs::create_directories(run_dir);
    pruned_path = (fs::path(run_dir) / "pruned.pt").string();
  }
  save_module(pruned.module, pruned_path);

  std::string label = "pruned (" + report.method + " " + percent(opt.sparsity) + ")";
  report.rows.push_back(ev.measure("original", in_path));
  report.rows.push_back(ev.measure(label, pruned_path));

  std::string final_path = pruned_path;
  if (finetune) {
    auto st = std::make_shared<FinetuneState>();
    {
      torch::NoGradGuard no_grad;
      st->head_weight = pruned.module.attr("head_weight").toTensor().clone();
      st->head_bias = pruned.module.attr("head_bias").toTensor().clone();
    }
    st->masks = pruned.masks;
    nlohmann::json train = finetune_config(config, job.finetune_data, pruned_path);
    TrainRun run;
    run.output_dir = run_dir;
    run.progress = job.progress;
    spdlog::info("prune: fine-tuning {} epochs on {} with the pruning mask fixed", train["optim"]["epochs"].get<int>(),
                 job.finetune_data);
    TrainResult tr = train_classifier(train, run, mask_hooks(st));
    report.finetune_epochs = static_cast<int>(tr.epochs.size());
    report.finetune_seconds = tr.seconds;
    // The trainer exports its best epoch; the masked weights must still be zero.
    torch::jit::Module tuned = torch::jit::load(tr.model_path);
    for (const auto& prm : tuned.named_parameters(true)) {
      auto it = st->masks.find(prm.name);
      if (it == st->masks.end()) continue;
      double leaked = (prm.value.detach() * (1 - it->second)).abs().max().item<double>();
      if (leaked != 0)
        throw Error(ErrorKind::Internal, "prune: fine-tuning moved pruned weights of " + prm.name + " (max |w| " +
                                             std::to_string(leaked) + ")");
    }
    tuned.eval();
    save_module(tuned, job.output_path);
    final_path = job.output_path;
    report.rows.push_back(ev.measure(label + " + fine-tuned " + std::to_string(report.finetune_epochs) + " epochs",
                                     job.output_path));
  }

  auto before = weight_layers(original);
  auto after = weight_layers(torch::jit::load(final_path));
  for (size_t i = 0; i < after.size(); ++i) {
    PruneLayerRow row{after[i].name, after[i].op, i < before.size() ? before[i].shape_before : after[i].shape_before,
                      after[i].shape_after, after[i].weights, after[i].zeros, 0};
    if (i < pruned.layers.size()) row.channels_pruned = static_cast<int>(pruned.layers[i].pruned_channels.size());
    report.layers.push_back(row);
  }
  return report;
}

std::string format_prune_table(const PruneReport& r) {
  std::ostringstream s;
  s << "| model | size (KB) | zlib (KB) | conv/linear weights (non-zero) | latency (ms, batch 1) | accuracy | top-1 agreement |\n"
    << "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& row : r.rows)
    s << "| " << row.variant << " | " << format_fixed(row.size_bytes / 1024.0, 1) << " | " << format_fixed(row.compressed_bytes / 1024.0, 1)
      << " | " << row.parameters << " (" << row.nonzero << ") | " << format_fixed(row.latency_ms, 3) << " | "
      << (row.accuracy < 0 ? "n/a" : format_fixed(100 * row.accuracy, 2) + "%") << " | " << format_fixed(100 * row.top1_agreement, 2)
      << "% |\n";
  return s.str();
}

std::string format_prune_layers(const PruneReport& r) {
  auto shape = [](const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  };
  std::ostringstream s;
  s << "| layer | op | shape | weights | zeros | sparsity | channels pruned |\n|---|---|---|---:|---:|---:|---:|\n";
  char buf[64];
  for (const auto& l : r.layers) {
    std::string sh = shape(l.shape_before);
    if (l.shape_after != l.shape_before) sh += " -> " + shape(l.shape_after);
    std::snprintf(buf, sizeof buf, "%.2f%%", l.weights ? 100.0 * double(l.zeros) / double(l.weights) : 0.0);
    s << "| " << l.name << " | " << l.op << " | " << sh << " | " << l.weights << " | " << l.zeros << " | " << buf << " | " << l.channels_pruned << " |\n";
  }
  return s.str();
}

}  // namespace cvtool
