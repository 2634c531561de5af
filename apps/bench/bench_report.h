// The benchmark's outputs: the JSON line of tools/bench/README.md (side "adaptgrad") and the
// readable summary, with the --profile tables.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "apps/bench/bench_run.h"

namespace ag::bench {

using MsTable = std::vector<std::pair<std::string, double>>;  // name -> median ms per step

// forward, loss, backward, optimizer, other, total.
MsTable phase_table(const BenchRun& run);
// Core's op families (gemm, attention, norm, elementwise, optimizer, other) and "unattributed",
// the rest of the step (ops without a ProfileScope, graph bookkeeping, freeing).
MsTable family_table(const BenchRun& run);

// Every key bench_torch.py prints (torch/transformers/peft null), plus version, blas_openmp,
// num_threads and, with o.profile, profile_ms, profile_family_ms and the graph counters.
nlohmann::ordered_json bench_json(const BenchOptions& o, const BenchRun& run);

// A few lines for people; `json` is bench_json()'s result.
void print_summary(std::FILE* out, const BenchOptions& o, const BenchRun& run,
                   const nlohmann::ordered_json& json);

}  // namespace ag::bench
