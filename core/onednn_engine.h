// The one oneDNN CPU engine every bf16 product runs on (internal to core/; include it only
// under ADAPTGRAD_HAVE_ONEDNN, after <oneapi/dnnl/dnnl.hpp>).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace ag {

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
