// device_pool.hpp: a caching allocator for device memory (plugin side).
//
// cudaMalloc and cudaFree are slow (they can synchronise the whole device)
// and a training step asks for the same buffer sizes every time. So blocks
// are never freed while the context lives: a released block goes to a free
// list keyed by its size class and the next request of that class reuses it.
// After the first step no cudaMalloc happens at all (pool_stats shows it).
//
// Sizes are rounded up to a class with at most 1/8 waste (8 classes per
// power of two), so that a smaller last batch reuses nearby blocks instead
// of creating a new class per shape.
//
// All work of a context runs on one stream, so a block released while a
// kernel still reads it can be handed out again at once: its next user is
// queued on the same stream, behind that kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace m3oe_cuda {

class DevicePool {
 public:
  DevicePool() = default;
  ~DevicePool();  // frees every block (the context's device must be current)
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  // A block of at least `bytes` (nullptr for 0). Throws std::runtime_error
  // when the device is out of memory even after emptying the cache.
  void* acquire(std::size_t bytes);
  // Gives a block from acquire(bytes) back to the cache.
  void release(void* block, std::size_t bytes);
  // cudaFree every cached block (blocks in use are kept).
  void trim();

  static std::size_t size_class(std::size_t bytes);

  std::uint64_t device_mallocs() const { return mallocs_; }
  std::uint64_t reuses() const { return reuses_; }
  std::uint64_t bytes_reserved() const { return reserved_; }

 private:
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // size class -> blocks
  std::uint64_t mallocs_ = 0, reuses_ = 0, reserved_ = 0;
};

// RAII: a typed block from the pool, given back when it goes out of scope.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer(DevicePool& pool, std::size_t count)
      : pool_(pool), bytes_(count * sizeof(T)), data_(static_cast<T*>(pool.acquire(bytes_))) {}
  ~DeviceBuffer() { pool_.release(data_, bytes_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }

 private:
  DevicePool& pool_;
  std::size_t bytes_;
  T* data_;
};

}  // namespace m3oe_cuda
