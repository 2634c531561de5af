// Storage allocation with a small cache of freed blocks.
//
// A training step allocates the same activation and gradient buffers, of the same sizes, step
// after step. Instead of returning them to malloc (which for large blocks means munmap, then
// page faults to map them again), a freed block is kept in a cache keyed by its size and handed
// to the next request of that size. The cache is bounded so that it never holds more than
// kMaxCachedBytes of idle memory.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "core/tensor.h"

namespace ag {
namespace {

constexpr int64_t kAlignBytes = 64;
constexpr int64_t kMaxCachedBytes = int64_t(1) << 30;

struct BlockCache {
  std::mutex mutex;
  std::multimap<int64_t, float*> free_blocks;  // capacity (floats) -> block
  int64_t cached_bytes = 0;
};

BlockCache& cache() {
  static BlockCache* instance = new BlockCache();  // never destroyed: outlives static tensors
  return *instance;
}

// Rounds a request up to a size class so that similar sizes share blocks: 64-byte lines up to
// 4 KiB, then four classes per power of two (at most 19% unused). Batches padded to different
// lengths then reuse each other's blocks instead of each filling the cache with its own sizes.
int64_t capacity_for(int64_t size) {
  const int64_t per_line = kAlignBytes / int64_t(sizeof(float));
  const int64_t lines = std::max<int64_t>(1, (size + per_line - 1) / per_line);
  if (lines <= 64) return lines * per_line;
  int64_t power = 64;
  while (power * 2 <= lines) power *= 2;
  const int64_t step = power / 4;
  return (lines + step - 1) / step * step * per_line;
}

}  // namespace

Storage::Storage(int64_t requested) : data(nullptr), size(requested) {
  const int64_t capacity = capacity_for(requested);
  {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(capacity);
    if (it != c.free_blocks.end()) {
      data = it->second;
      c.free_blocks.erase(it);
      c.cached_bytes -= capacity * int64_t(sizeof(float));
      return;
    }
  }
  data = static_cast<float*>(std::aligned_alloc(kAlignBytes, capacity * sizeof(float)));
  if (data == nullptr) throw std::bad_alloc();
}

Storage::~Storage() {
  const int64_t capacity = capacity_for(size);
  const int64_t bytes = capacity * int64_t(sizeof(float));
  BlockCache& c = cache();
  if (reuse_when_freed) {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cached_bytes + bytes <= kMaxCachedBytes) {
      c.free_blocks.emplace(capacity, data);
      c.cached_bytes += bytes;
      return;
    }
  }
  std::free(data);
}

}  // namespace ag
