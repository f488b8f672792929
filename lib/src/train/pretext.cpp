#include "cvtool/train/pretext.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include <torch/script.h>

#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/train/augment.hpp"
#include "cvtool/train/network.hpp"
#include "cvtool/train/pretext_transform.hpp"
#include "cvtool/train/trainer_hooks.hpp"

namespace cvtool {

namespace fs = std::filesystem;

namespace {

int hamming(const std::vector<int>& a, const std::vector<int>& b) {
  int d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += a[i] != b[i];
  return d;
}

std::string join(const std::vector<int>& v, const char* sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

// Only rank 0 of a data-parallel run writes the run folder (as the trainer does).
bool is_main_rank() {
  const char* world = std::getenv("WORLD_SIZE");
  const char* rank = std::getenv("RANK");
  return !world || std::string(world) == "1" || !rank || std::string(rank) == "0";
}

}  // namespace

int PretextTask::num_classes() const { return kind == PretextKind::Rotation ? 4 : int(permutations.size()); }

std::vector<std::string> PretextTask::class_names() const {
  if (kind == PretextKind::Rotation) return {"rot0", "rot90", "rot180", "rot270"};
  std::vector<std::string> names;
  for (const auto& p : permutations) names.push_back("perm-" + join(p, "-"));
  return names;
}

nlohmann::json PretextTask::to_json() const {
  nlohmann::json j = {{"task", kind == PretextKind::Rotation ? "rotation" : "jigsaw"}, {"classes", class_names()}};
  if (kind == PretextKind::Jigsaw) {
    j["grid"] = grid;
    j["permutations"] = permutations;
  }
  return j;
}

std::vector<std::vector<int>> jigsaw_permutations(int grid, int count, std::uint64_t seed) {
  if (grid < 2) throw Error(ErrorKind::Config, "pretext.grid: at least 2 patches per side, got " + std::to_string(grid));
  const int n = grid * grid;
  double total = 1;
  for (int i = 2; i <= n; ++i) total *= i;
  if (count < 1 || double(count) > total)
    throw Error(ErrorKind::Config, "pretext.permutations: " + std::to_string(count) + " asked, but a " + std::to_string(grid) + "x" +
                                       std::to_string(grid) + " grid has only " + std::to_string(std::int64_t(total)));
  std::vector<int> identity(static_cast<std::size_t>(n));
  std::iota(identity.begin(), identity.end(), 0);
  std::vector<std::vector<int>> candidates;
  if (total <= 5040) {
    std::vector<int> p = identity;
    do candidates.push_back(p);
    while (std::next_permutation(p.begin(), p.end()));
  } else {
    for (std::uint64_t k = 0; k < 2000; ++k) {
      std::vector<int> p = identity;
      seeded_shuffle(p, mix_seed(mix_seed(seed, 0x1195A3ull), k));
      candidates.push_back(p);
    }
  }
  seeded_shuffle(candidates, mix_seed(seed, 0x0BDE5ull));
  std::vector<std::vector<int>> chosen = {identity};
  // Distance of each candidate to the nearest chosen one; 0 once chosen (or a duplicate).
  std::vector<int> nearest(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) nearest[i] = hamming(candidates[i], identity);
  while (int(chosen.size()) < count) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates.size(); ++i)
      if (nearest[i] > nearest[best]) best = i;
    if (nearest[best] == 0) throw Error(ErrorKind::Internal, "jigsaw_permutations: ran out of distinct candidates");
    chosen.push_back(candidates[best]);
    for (std::size_t i = 0; i < candidates.size(); ++i) nearest[i] = std::min(nearest[i], hamming(candidates[i], candidates[best]));
  }
  return chosen;
}

PretextTask pretext_task_from_config(const nlohmann::json& config) {
  const auto& p = config["pretext"];
  const auto& size = config["model"]["input_size"];
  const int w = size[0].get<int>(), h = size[1].get<int>();
  PretextTask t;
  const std::string name = p["task"].get<std::string>();
  if (name == "rotation") {
    t.kind = PretextKind::Rotation;
    if (w != h)
      throw Error(ErrorKind::Config, "model.input_size: the rotation task needs a square input (quarter turns keep the shape), got " +
                                         std::to_string(w) + "x" + std::to_string(h));
  } else if (name == "jigsaw") {
    t.kind = PretextKind::Jigsaw;
    t.grid = p["grid"].get<int>();
    if (w % t.grid || h % t.grid)
      throw Error(ErrorKind::Config, "model.input_size: " + std::to_string(w) + "x" + std::to_string(h) + " does not split into a " +
                                         std::to_string(t.grid) + "x" + std::to_string(t.grid) + " grid (pretext.grid)");
    t.permutations = jigsaw_permutations(t.grid, p["permutations"].get<int>(), config["seed"].get<std::uint64_t>());
  } else {
    throw Error(ErrorKind::Config, "pretext.task: unknown task \"" + name + "\" (rotation or jigsaw)");
  }
  return t;
}

Dataset load_unlabeled(const std::string& folder) {
  std::error_code ec;
  if (!fs::exists(folder, ec)) throw Error(ErrorKind::Config, "data.train: " + folder + ": no such folder");
  if (!fs::is_directory(folder, ec)) throw Error(ErrorKind::Config, "data.train: " + folder + ": not a folder (pretext tasks read a folder of images)");
  Dataset d;
  d.classes = {"unlabeled"};
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink))
    if (e.is_regular_file() && is_image_extension(e.path())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(ErrorKind::Config, "data.train: " + folder + ": no images found (searched the folder recursively)");
  for (auto& f : files) d.items.push_back({std::move(f), {0}});
  return d;
}

PretextResult train_pretext(const nlohmann::json& config, const TrainRun& run) {
  PretextResult r;
  r.task = pretext_task_from_config(config);
  if (config["data"]["multi_label"].get<bool>())
    throw Error(ErrorKind::Config, "data.multi_label: a pretext task makes one label per image; set it to false");
  TrainHooks hooks;
  hooks.classes = r.task.class_names();
  hooks.load_data = [](const std::string& path) { return load_unlabeled(path); };
  hooks.transform_batch = [task = r.task](const torch::Tensor& x, const torch::Tensor&, const std::vector<std::uint64_t>& seeds) {
    return apply_pretext(task, x, seeds);
  };
  spdlog::info("pretext task {}: {} classes", r.task.to_json()["task"].get<std::string>(), r.task.num_classes());
  TrainRun pretext_run = run;
  pretext_run.export_name = "pretext_model.pt";
  r.train = train_classifier(config, pretext_run, hooks);

  const fs::path out(run.output_dir);
  r.backbone_path = (out / "backbone.pt").string();
  if (!is_main_rank()) return r;
  torch::jit::Module model = torch::jit::load(r.train.model_path);
  torch::jit::Module backbone = model.attr("backbone").toModule();
  backbone.eval();
  const auto& size = config["model"]["input_size"];
  r.feature_dim = backbone_feature_dim(backbone, size[1].get<int>(), size[0].get<int>());
  fs::path tmp = out / "backbone.pt.tmp";
  backbone.save(tmp.string());
  fs::rename(tmp, r.backbone_path);
  nlohmann::json info = r.task.to_json();
  info["backbone"] = "backbone.pt";
  info["feature_dim"] = r.feature_dim;
  info["input_size"] = size;
  info["pretext_model"] = pretext_run.export_name;
  write_file_atomic(out / "pretext.json", info.dump(2) + "\n");
  spdlog::info("exported {} (features: {})", r.backbone_path, r.feature_dim);
  return r;
}

}  // namespace cvtool
