#pragma once
// Image embeddings from a validated "embed" config: a TorchScript model, the output
// or submodule to take features from, pooling and L2 normalisation. LibTorch stays
// behind the pimpl so that users of this header compile fast.
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

class Embedder {
 public:
  // `config` is an embed config as returned by load_config (validated, paths resolved).
  // Throws Error(Model) when the model is missing or gives no usable feature output.
  explicit Embedder(const nlohmann::json& config);
  ~Embedder();
  Embedder(Embedder&&) noexcept;

  // Length of every vector embed() returns.
  int dim() const;

  // One vector per image (8-bit BGR, any size: the config's preprocessing applies),
  // L2-normalised when the config asks for it.
  std::vector<std::vector<float>> embed(const std::vector<cv::Mat>& images);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cvtool
