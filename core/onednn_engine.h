// The one oneDNN CPU engine every bf16 product runs on (internal to core/; include it only
// under ADAPTGRAD_HAVE_ONEDNN, after <oneapi/dnnl/dnnl.hpp>).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace ag {

dnnl::engine& onednn_cpu_engine();  // bf16_gemm.cpp
// The one work buffer ("user scratchpad") every cached primitive runs with, grown to the largest
// asked for: left to oneDNN, each cached primitive would keep its own for good.
void* onednn_scratchpad(size_t bytes);  // bf16_gemm.cpp

}  // namespace ag
