#pragma once
// Shared by embed, search and dedup: run the Embedder over the inputs and collect
// one row per decoded image (or video frame), in input order.
#include <functional>

#include "cli.hpp"
#include "cvtool/embed/embedder.hpp"
#include "cvtool/embed/embedding_set.hpp"

namespace cvtool::cli {

// The row id of a frame: its source path, with "#frame" for a video frame.
std::string frame_id(const Frame& frame);

// Embeds every input; a failed input (unreadable, no face) is reported and gets no
// row. `on_row` sees each row as it is added (for --jsonl streaming).
EmbeddingSet embed_items(const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts,
                         Embedder& embedder, RunReport& report,
                         const std::function<void(const Frame&, const std::vector<float>&, std::size_t)>& on_row = {});

// Loads the embed config (-c, or `default_config`, with --set and flags), sets threads
// and builds the Embedder.
Json load_embed_config(const CommonOptions& opts, const std::string& default_config);

// A contact sheet of the sources behind row ids (an id "video#12" is frame 12; a source
// that cannot be read draws a grey cell). Captions default to the file names.
cv::Mat sources_sheet(const std::vector<std::string>& ids, std::vector<std::string> captions = {});

}  // namespace cvtool::cli
