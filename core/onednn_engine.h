// The one oneDNN CPU engine every bf16 product runs on (internal to core/; include it only
// under ADAPTGRAD_HAVE_ONEDNN, after <oneapi/dnnl/dnnl.hpp>).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>

namespace ag {

// Primitives built on first use and kept, one per key: building one takes far longer than a
// small product (about 0.25 ms). A run sees a few keys per padded batch length; a stream of
// ever-new keys starts a fresh cache instead of growing it without end. Keys are ordered
// (std::map); the lock only keeps the map safe should ops ever run on several threads.
template <class Key, class Primitive>
class PrimitiveCache {
 public:
  // The primitive for `key`, built by make() when absent.
  template <class Make>
  const Primitive& get(const Key& key, Make make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (cache_.size() >= kMaxEntries) cache_.clear();
    return cache_.emplace(key, make()).first->second;
  }

 private:
  static constexpr size_t kMaxEntries = 2048;
  std::mutex mutex_;
  std::map<Key, Primitive> cache_;
};

dnnl::engine& onednn_cpu_engine();  // bf16_gemm.cpp
// The one work buffer ("user scratchpad") every cached primitive runs with, grown to the largest
// asked for: left to oneDNN, each cached primitive would keep its own for good.
void* onednn_scratchpad(size_t bytes);  // bf16_gemm.cpp
// Runs a cached matmul primitive on operands given as pointers into memory of the layouts `a`,
// `b`, `c` it was built for, with the shared scratchpad, and waits for it.
void run_onednn_matmul(const dnnl::matmul& matmul, const dnnl::memory::desc& a, const void* a_data,
                       const dnnl::memory::desc& b, const void* b_data, const dnnl::memory::desc& c,
                       float* c_data,
                       const dnnl::memory::desc& scratchpad);  // bf16_gemm.cpp

}  // namespace ag
