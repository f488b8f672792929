#pragma once
// Self-supervised pretraining on unlabeled images (`cvtool train pretext`). A pretext
// task makes each image's label from the image itself, and the trainer learns backbone +
// head on it; the backbone is then exported alone as TorchScript, ready for
// `train classify --backbone`. Tasks:
//   rotation: the image turned by k quarter turns (counter-clockwise); label k (4 classes).
//   jigsaw:   the image cut into grid x grid patches, rearranged by one permutation of a
//             fixed, seeded set; label = its index in the set.
// No LibTorch here; the tensor-level transforms are in pretext_transform.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cvtool/train/dataset.hpp"
#include "cvtool/train/trainer.hpp"

namespace cvtool {

enum class PretextKind { Rotation, Jigsaw };

struct PretextTask {
  PretextKind kind = PretextKind::Rotation;
  int grid = 2;  // jigsaw: patches per side
  // jigsaw: the label set. Label l puts input patch permutations[l][p] at output position
  // p (patches numbered row-major). permutations[0] is the identity.
  std::vector<std::vector<int>> permutations;

  int num_classes() const;
  // rotation: "rot0", "rot90", "rot180", "rot270"; jigsaw: "perm-" + the patch numbers.
  std::vector<std::string> class_names() const;
  nlohmann::json to_json() const;
};

// `count` distinct permutations of grid*grid patches, the same for the same arguments on
// any platform: the identity first, then greedily the candidate with the largest minimum
// Hamming distance to those already chosen (candidates: every permutation when there are
// at most 5040, else 2000 seeded random ones, in a seeded order; ties go to the first).
// Throws Error(Config) when count exceeds (grid*grid)! or grid < 2.
std::vector<std::vector<int>> jigsaw_permutations(int grid, int count, std::uint64_t seed);

// The task a validated train config's "pretext" section asks for, checked against
// model.input_size (rotation: square; jigsaw: divisible by the grid). Throws
// Error(Config) naming the key.
PretextTask pretext_task_from_config(const nlohmann::json& config);

// Every image under `folder`, recursively, sorted by path, as one class "unlabeled".
// Throws Error(Config) naming the folder when it is missing, not a folder or holds no image.
Dataset load_unlabeled(const std::string& folder);

struct PretextResult {
  PretextTask task;
  TrainResult train;          // the pretext classifier (backbone + pretext head) and its metrics
  std::string backbone_path;  // run folder / backbone.pt
  std::int64_t feature_dim = 0;
};

// Trains per a validated train config with a "pretext" section on the unlabeled images
// of data.train (and data.val when given), through train_classifier, then writes the run
// folder's backbone.pt (the backbone alone, eval mode) and pretext.json (task, grid,
// permutations). Throws Error(Config) for settings that need labels (multi_label,
// class_weights).
PretextResult train_pretext(const nlohmann::json& config, const TrainRun& run);

}  // namespace cvtool
