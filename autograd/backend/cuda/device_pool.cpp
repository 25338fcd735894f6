#include "device_pool.hpp"

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace m3oe_cuda {

std::size_t DevicePool::size_class(std::size_t bytes) {
  constexpr std::size_t kMin = 512;  // cudaMalloc aligns to 256 anyway
  if (bytes <= kMin) return kMin;
  std::size_t octave = kMin;  // the largest power of two <= bytes
  while (octave <= bytes / 2) octave *= 2;
  const std::size_t step = octave / 8 > kMin ? octave / 8 : kMin;
  return (bytes + step - 1) / step * step;
}

void* DevicePool::acquire(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t size = size_class(bytes);
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* block = it->second.back();
    it->second.pop_back();
    ++reuses_;
    return block;
  }
  void* block = nullptr;
  cudaError_t err = cudaMalloc(&block, size);
  if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
    (void)cudaGetLastError();
    trim();
    err = cudaMalloc(&block, size);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw std::runtime_error("cudaMalloc of " + std::to_string(size) +
                             " bytes failed: " + cudaGetErrorString(err) + " (" +
                             std::to_string(reserved_) + " bytes already held)");
  }
  ++mallocs_;
  reserved_ += size;
  return block;
}

void DevicePool::release(void* block, std::size_t bytes) {
  if (block) free_[size_class(bytes)].push_back(block);
}

void DevicePool::trim() {
  for (auto& [size, blocks] : free_) {
    for (void* block : blocks) {
      cudaFree(block);
      reserved_ -= size;
    }
    blocks.clear();
  }
}

DevicePool::~DevicePool() { trim(); }

}  // namespace m3oe_cuda
