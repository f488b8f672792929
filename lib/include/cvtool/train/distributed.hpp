#pragma once
// Data-parallel training across processes with LibTorch's c10d and the Gloo backend.
// Configured from the environment torchrun, Slurm or Kubernetes launchers set: RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT (LOCAL_RANK is ignored: CPU only). Includes
// LibTorch (tensors cross the interface); the c10d/Gloo headers stay in the .cpp.
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace cvtool {

class DataParallel {
 public:
  // A group of one (no communication) when WORLD_SIZE is unset or 1. Throws
  // Error(Config) naming the variable when the environment is incomplete or wrong.
  static DataParallel from_env();
  // rank 0 hosts the rendezvous store at master_addr:master_port.
  DataParallel(int rank, int world_size, const std::string& master_addr, int master_port);
  DataParallel();  // a group of one
  ~DataParallel();
  DataParallel(DataParallel&&) noexcept;

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  bool is_main() const { return rank_ == 0; }

  // In place, summed over ranks (one flattened buffer per call).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // In place, rank 0's values to everyone.
  void broadcast_from_main(std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
};

}  // namespace cvtool
