#include "cvtool/embed/embedding_set.hpp"

#include <fstream>

#include "cvtool/core/error.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/core/sink.hpp"

namespace cvtool {

namespace fs = std::filesystem;

EmbeddingSet load_embedding_set(const fs::path& path) {
  fs::path npy = path, ids = path.parent_path() / "ids.txt", meta = path.parent_path() / "embed.json";
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    meta = path / "embed.json";
    npy = path / "embeddings.npy";
    ids = path / "ids.txt";
    std::ifstream in(meta);
    if (in) {
      try {
        nlohmann::json m = nlohmann::json::parse(in);
        npy = path / m.value("npy", std::string("embeddings.npy"));
        ids = path / m.value("ids", std::string("ids.txt"));
      } catch (const nlohmann::json::exception&) {
        throw Error(ErrorKind::Input, meta.string() + ": malformed JSON");
      }
    }
  }
  if (!fs::exists(npy, ec)) throw Error(ErrorKind::Input, npy.string() + ": not found (expected the output folder of 'cvtool embed -o' or a .npy file)");
  EmbeddingSet set;
  NpyArray a = read_npy(npy);
  if (a.shape.size() != 2) throw Error(ErrorKind::Input, npy.string() + ": expected a 2-D matrix (rows x dim)");
  set.dim = int(a.shape[1]);
  set.rows = std::move(a.data);
  std::ifstream ids_in(ids);
  if (ids_in) {
    for (std::string line; std::getline(ids_in, line);) set.ids.push_back(line);
    if (std::int64_t(set.ids.size()) != a.shape[0])
      throw Error(ErrorKind::Input, ids.string() + ": " + std::to_string(set.ids.size()) + " ids for " +
                                        std::to_string(a.shape[0]) + " rows in " + npy.string());
  } else {
    for (std::int64_t i = 0; i < a.shape[0]; ++i) set.ids.push_back(std::to_string(i));
  }
  std::ifstream meta_in(meta);
  if (meta_in) {
    try {
      nlohmann::json m = nlohmann::json::parse(meta_in);
      if (m.contains("config")) set.config = m["config"];
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::Input, meta.string() + ": malformed JSON");
    }
  }
  return set;
}

void save_embedding_set(const fs::path& dir, const EmbeddingSet& set, const std::string& npy_name,
                        const std::string& ids_name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  write_npy(dir / npy_name, set.rows.data(), {std::int64_t(set.ids.size()), set.dim});
  std::string ids;
  for (const auto& id : set.ids) ids += id + "\n";
  write_file_atomic(dir / ids_name, ids);
  nlohmann::json meta = {{"dim", set.dim}, {"count", set.ids.size()}, {"npy", npy_name}, {"ids", ids_name},
                         {"config", set.config}};
  write_file_atomic(dir / "embed.json", meta.dump(2) + "\n");
}

}  // namespace cvtool
