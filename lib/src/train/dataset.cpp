#include "cvtool/train/dataset.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/train/augment.hpp"

namespace cvtool {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

std::vector<std::string> split_labels(const std::string& field) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : field) {
    if (c == ';' || c == '|') {
      if (!trim(cur).empty()) out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) out.push_back(trim(cur));
  return out;
}

struct RawItem {
  std::string path;
  std::vector<std::string> labels;
};

std::vector<RawItem> read_image_folder(const fs::path& root) {
  std::vector<RawItem> raw;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(d))
      if (e.is_regular_file() && is_image_extension(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) raw.push_back({f.string(), {d.filename().string()}});
  }
  return raw;
}

std::vector<RawItem> read_list(const fs::path& list) {
  std::ifstream in(list);
  if (!in) throw Error(ErrorKind::Config, list.string() + ": cannot open");
  const bool jsonl = list.extension() == ".jsonl";
  std::vector<RawItem> raw;
  std::string line;
  int n = 0;
  auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() ? p : (list.parent_path() / p).string(); };
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::string where = list.string() + ":" + std::to_string(n);
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::Config, where + ": malformed JSON");
      }
      if (!j.contains("path") || !j["path"].is_string()) throw Error(ErrorKind::Config, where + ": needs \"path\"");
      RawItem r{resolve(j["path"].get<std::string>()), {}};
      const auto& l = j.contains("labels") ? j["labels"] : j.value("label", nlohmann::json());
      if (l.is_string()) r.labels = split_labels(l.get<std::string>());
      else if (l.is_array()) for (const auto& x : l) r.labels.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      else throw Error(ErrorKind::Config, where + ": needs \"labels\" (a list or a string)");
      raw.push_back(r);
    } else {
      auto comma = line.find(',');
      if (comma == std::string::npos) throw Error(ErrorKind::Config, where + ": expected path,labels");
      std::string path = trim(line.substr(0, comma)), labels = line.substr(comma + 1);
      if (n == 1 && path == "path") continue;  // header
      if (labels.size() >= 2 && labels.front() == '"' && labels.back() == '"') labels = labels.substr(1, labels.size() - 2);
      raw.push_back({resolve(path), split_labels(labels)});
    }
  }
  return raw;
}

}  // namespace

Dataset load_dataset(const std::string& path, bool multi_label, const std::vector<std::string>& classes) {
  fs::path p(path);
  if (!fs::exists(p)) throw Error(ErrorKind::Config, path + ": no such dataset folder or list file");
  std::vector<RawItem> raw = fs::is_directory(p) ? read_image_folder(p) : read_list(p);
  if (raw.empty()) throw Error(ErrorKind::Config, path + ": no labelled images found (expected root/<class>/*.jpg or a .csv/.jsonl list)");
  Dataset d;
  d.multi_label = multi_label;
  d.classes = classes;
  if (d.classes.empty()) {
    std::set<std::string> names;
    for (const auto& r : raw) names.insert(r.labels.begin(), r.labels.end());
    d.classes.assign(names.begin(), names.end());
  }
  std::map<std::string, int> id;
  for (std::size_t i = 0; i < d.classes.size(); ++i) id[d.classes[i]] = int(i);
  for (const auto& r : raw) {
    if (!multi_label && r.labels.size() != 1)
      throw Error(ErrorKind::Config, path + ": " + r.path + " has " + std::to_string(r.labels.size()) +
                                         " labels; set data.multi_label for multi-label data");
    LabelledImage item{r.path, {}};
    for (const auto& l : r.labels) {
      auto it = id.find(l);
      if (it == id.end()) throw Error(ErrorKind::Config, path + ": " + r.path + ": label '" + l + "' is not in data.classes");
      item.labels.push_back(it->second);
    }
    d.items.push_back(std::move(item));
  }
  return d;
}

TrainValSplit split_dataset(const Dataset& data, double val_fraction, std::uint64_t seed) {
  TrainValSplit s;
  s.train.classes = s.val.classes = data.classes;
  s.train.multi_label = s.val.multi_label = data.multi_label;
  std::map<int, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < data.items.size(); ++i)
    by_class[data.items[i].labels.empty() ? -1 : data.items[i].labels[0]].push_back(i);
  std::vector<char> is_val(data.items.size(), 0);
  for (auto& [c, idx] : by_class) {
    seeded_shuffle(idx, mix_seed(seed, std::uint64_t(c + 1)));
    std::size_t n = std::size_t(std::lround(val_fraction * double(idx.size())));
    if (val_fraction > 0 && n == 0 && idx.size() >= 2) n = 1;
    for (std::size_t k = 0; k < n; ++k) is_val[idx[k]] = 1;
  }
  for (std::size_t i = 0; i < data.items.size(); ++i) (is_val[i] ? s.val : s.train).items.push_back(data.items[i]);
  return s;
}

std::vector<std::size_t> class_counts(const Dataset& data) {
  std::vector<std::size_t> n(data.classes.size(), 0);
  for (const auto& it : data.items)
    for (int l : it.labels) ++n[std::size_t(l)];
  return n;
}

std::vector<std::size_t> epoch_order(const Dataset& data, const std::string& sampler, std::uint64_t seed, int epoch) {
  std::uint64_t s = mix_seed(seed, std::uint64_t(epoch) + 1000);
  std::vector<std::size_t> order;
  if (sampler == "shuffle") {
    order.resize(data.items.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
  } else if (sampler == "oversample" || sampler == "undersample") {
    std::map<int, std::vector<std::size_t>> by_class;
    for (std::size_t i = 0; i < data.items.size(); ++i)
      if (!data.items[i].labels.empty()) by_class[data.items[i].labels[0]].push_back(i);
    std::size_t target = sampler == "oversample" ? 0 : SIZE_MAX;
    for (const auto& [c, idx] : by_class)
      target = sampler == "oversample" ? std::max(target, idx.size()) : std::min(target, idx.size());
    for (auto& [c, idx] : by_class) {
      seeded_shuffle(idx, mix_seed(s, std::uint64_t(c) + 7));
      // Whole passes over the class first, then a seeded part: repeats spread evenly.
      for (std::size_t k = 0; k < target; ++k) order.push_back(idx[k % idx.size()]);
    }
  } else {
    throw Error(ErrorKind::Config, "sampler: unknown '" + sampler + "' (shuffle, oversample, undersample)");
  }
  seeded_shuffle(order, s);
  return order;
}

std::vector<float> class_weights(const Dataset& data, const std::string& mode) {
  std::vector<float> w(data.classes.size(), 1.0f);
  if (mode == "none") return w;
  if (mode != "balanced") throw Error(ErrorKind::Config, "loss.class_weights: unknown '" + mode + "'");
  auto counts = class_counts(data);
  std::size_t present = 0, total = 0;
  for (auto c : counts) {
    present += c > 0;
    total += c;
  }
  for (std::size_t i = 0; i < w.size(); ++i)
    w[i] = counts[i] ? float(double(total) / (double(present) * double(counts[i]))) : 0.0f;
  return w;
}

}  // namespace cvtool
