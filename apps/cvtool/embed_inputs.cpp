#include "embed_inputs.hpp"

#include <filesystem>

#include "cvtool/core/runtime.hpp"
#include "cvtool/embed/contact_sheet.hpp"

namespace cvtool::cli {

std::string frame_id(const Frame& frame) {
  return frame.index >= 0 ? frame.source + "#" + std::to_string(frame.index) : frame.source;
}

Json load_embed_config(const CommonOptions& opts, const std::string& default_config) {
  if (opts.resume) throw Error(ErrorKind::Usage, "--resume is not supported by the embedding commands (they write one matrix per run)");
  Json config = load_task_config("embed", default_config, opts);
  configure_threads(config["runtime"]["threads"].get<int>());
  return config;
}

EmbeddingSet embed_items(const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts,
                         Embedder& embedder, RunReport& report,
                         const std::function<void(const Frame&, const std::vector<float>&, std::size_t)>& on_row) {
  EmbeddingSet set;
  set.dim = embedder.dim();
  set.config = config;
  auto add = [&](const Frame& frame, const std::vector<float>& v) {
    set.ids.push_back(frame_id(frame));
    set.rows.insert(set.rows.end(), v.begin(), v.end());
    if (on_row) on_row(frame, v, set.ids.size() - 1);
    report.success(frame.source, frame.index);
  };
  auto process = [&](std::vector<Frame>& frames) {
    std::vector<cv::Mat> images;
    for (const auto& f : frames) images.push_back(f.image);
    try {
      auto vectors = embedder.embed(images);
      for (std::size_t i = 0; i < frames.size(); ++i) add(frames[i], vectors[i]);
      return;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Input || frames.size() == 1) {
        for (const auto& f : frames) report.failure(frame_id(f) + ": " + e.what(), frame_id(f));
        return;
      }
    }
    // One bad image (e.g. no face) must not sink the batch: redo it one by one.
    for (const auto& f : frames) {
      try {
        add(f, embedder.embed({f.image})[0]);
      } catch (const Error& e) {
        report.failure(frame_id(f) + ": " + e.what(), frame_id(f));
      }
    }
  };
  for_each_batch(items, config, opts, std::size_t(config["runtime"]["batch"].get<int>()), process,
                 [&](const std::string& source, const std::string& error) { report.failure(error, source); });
  return set;
}

cv::Mat sources_sheet(const std::vector<std::string>& ids, std::vector<std::string> captions) {
  std::vector<cv::Mat> images;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    cv::Mat image;
    try {
      auto hash = id.rfind('#');
      if (hash == std::string::npos || std::filesystem::exists(id)) image = decode_image(id);
    } catch (const Error&) {
      // An unreadable source draws a grey cell: the sheet still shows the rest.
    }
    images.push_back(image);
    if (captions.size() <= i) captions.push_back(std::filesystem::path(id).filename().string());
  }
  return contact_sheet(images, captions);
}

}  // namespace cvtool::cli
