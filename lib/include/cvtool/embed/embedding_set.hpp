#pragma once
// What `cvtool embed -o DIR` writes and the other embedding commands read: a folder
// with embeddings.npy (N x D float32), ids.txt (row -> source, one per line) and
// embed.json (dim, count, and the embed config that produced the vectors, so a
// search can embed its queries the same way).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct EmbeddingSet {
  int dim = 0;
  std::vector<std::string> ids;
  std::vector<float> rows;      // ids.size() x dim, row-major
  nlohmann::json config;        // the embed config used (null when unknown)
};

// `path` is such a folder, or a .npy file (ids from a sibling ids.txt, else the row
// numbers). Throws Error(Input) naming the file.
EmbeddingSet load_embedding_set(const std::filesystem::path& path);

// Writes the three files (atomically) with the given file names.
void save_embedding_set(const std::filesystem::path& dir, const EmbeddingSet& set,
                        const std::string& npy_name = "embeddings.npy", const std::string& ids_name = "ids.txt");

}  // namespace cvtool
