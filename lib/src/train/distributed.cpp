#include "cvtool/train/distributed.hpp"

#include <chrono>
#include <cstdlib>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"

namespace cvtool {

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end) throw Error(ErrorKind::Config, std::string(name) + "=" + v + ": expected an integer");
  return int(x);
}

// Flattens, runs `op` on the one buffer, and copies back: one collective per call.
template <class Op>
void flat_collective(std::vector<torch::Tensor>& tensors, Op op) {
  if (tensors.empty()) return;
  std::vector<torch::Tensor> flat_parts;
  for (auto& t : tensors) flat_parts.push_back(t.detach().reshape(-1).to(torch::kFloat64));
  std::vector<torch::Tensor> buf = {torch::cat(flat_parts)};
  op(buf);
  int64_t offset = 0;
  torch::NoGradGuard no_grad;
  for (auto& t : tensors) {
    int64_t n = t.numel();
    t.copy_(buf[0].narrow(0, offset, n).view(t.sizes()).to(t.dtype()));
    offset += n;
  }
}

}  // namespace

DataParallel DataParallel::from_env() {
  int world = env_int("WORLD_SIZE", 1);
  if (world <= 1) return DataParallel();
  int rank = env_int("RANK", -1);
  if (rank < 0 || rank >= world) throw Error(ErrorKind::Config, "RANK must be set to 0.." + std::to_string(world - 1) + " when WORLD_SIZE > 1");
  const char* addr = std::getenv("MASTER_ADDR");
  int port = env_int("MASTER_PORT", -1);
  if (!addr || !*addr) throw Error(ErrorKind::Config, "MASTER_ADDR must be set when WORLD_SIZE > 1");
  if (port <= 0 || port > 65535) throw Error(ErrorKind::Config, "MASTER_PORT must be set to a TCP port when WORLD_SIZE > 1");
  return DataParallel(rank, world, addr, port);
}

DataParallel::DataParallel() = default;
DataParallel::~DataParallel() = default;
DataParallel::DataParallel(DataParallel&&) noexcept = default;

DataParallel::DataParallel(int rank, int world_size, const std::string& master_addr, int master_port)
    : impl_(std::make_unique<Impl>()), rank_(rank), world_(world_size) {
  c10d::TCPStoreOptions opts;
  opts.port = std::uint16_t(master_port);
  opts.isServer = rank == 0;
  opts.numWorkers = world_size;
  opts.waitWorkers = true;
  opts.timeout = std::chrono::seconds(300);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(master_addr, opts);
    auto gopts = c10d::ProcessGroupGloo::Options::create();
    gopts->timeout = std::chrono::seconds(300);
    // Gloo's own address: GLOO_SOCKET_IFNAME as in PyTorch; loopback when the master is
    // on loopback (one machine); else the address this host's name resolves to.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    bool loopback = master_addr == "localhost" || master_addr.rfind("127.", 0) == 0;
    if (ifname && *ifname)
      gopts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (loopback)
      gopts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(master_addr));
    else
      gopts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, rank, world_size, gopts);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Config, "data-parallel rendezvous at " + master_addr + ":" + std::to_string(master_port) +
                                       " (rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
                                       ") failed: " + e.what());
  }
}

void DataParallel::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (!impl_) return;
  flat_collective(tensors, [&](std::vector<torch::Tensor>& buf) { impl_->group->allreduce(buf)->wait(); });
}

void DataParallel::broadcast_from_main(std::vector<torch::Tensor>& tensors) {
  if (!impl_) return;
  flat_collective(tensors, [&](std::vector<torch::Tensor>& buf) { impl_->group->broadcast(buf)->wait(); });
}

void DataParallel::barrier() {
  if (!impl_) return;
  impl_->group->barrier()->wait();
}

}  // namespace cvtool
