#pragma once
// Labelled image sets for training: ImageFolder (root/<class>/*.jpg) or a list file
// (.csv "path,labels" with labels separated by ';' or '|', or .jsonl {"path", "labels"})
// for multi-label data; a seeded, per-class train/val split; epoch sampling orders
// (shuffle, oversample, undersample).
#include <cstdint>
#include <string>
#include <vector>

namespace cvtool {

struct LabelledImage {
  std::string path;
  std::vector<int> labels;  // class ids; exactly one unless the set is multi-label
};

struct Dataset {
  std::vector<std::string> classes;
  std::vector<LabelledImage> items;
  bool multi_label = false;
};

// Reads a folder (ImageFolder) or a .csv / .jsonl list. `classes` fixes the class order
// (names not in it are errors); empty: sorted folder names or labels found. Paths in a
// list resolve relative to the list file. Throws Error(Config) naming the file and line.
Dataset load_dataset(const std::string& path, bool multi_label, const std::vector<std::string>& classes = {});

struct TrainValSplit {
  Dataset train, val;
};

// Holds out `val_fraction` of each class (by first label), at least one item of any
// class with two or more, chosen with `seed`.
TrainValSplit split_dataset(const Dataset& data, double val_fraction, std::uint64_t seed);

// Images per class (an image counts once for each of its labels).
std::vector<std::size_t> class_counts(const Dataset& data);

// The sample order of one epoch. "shuffle": each item once; "oversample": every class
// drawn as often as the largest (items repeated); "undersample": as often as the
// smallest (items dropped), by first label. Deterministic in (seed, epoch).
std::vector<std::size_t> epoch_order(const Dataset& data, const std::string& sampler, std::uint64_t seed, int epoch);

// "balanced" weights N / (classes * count_c) (0 for absent classes); "none": all 1.
std::vector<float> class_weights(const Dataset& data, const std::string& mode);

}  // namespace cvtool
