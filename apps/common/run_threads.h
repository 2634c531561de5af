// How many threads an app runs. `--threads N` (N > 0) or OMP_NUM_THREADS fix the count; by
// default it follows the cores other processes leave free (core/machine/thread_governor.h): decided
// once the model and data are loaded, then re-checked between training steps; never more than
// a container's CPU limit (core/machine/cpu_load.h).
//
// Results depend a little on the thread count (OpenBLAS splits a GEMM differently with 1 and 2
// threads), so a run that must repeat to the last bit fixes it with --threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/machine/thread_governor.h"

namespace ag::apps {

class RunThreads {
 public:
  // requested: --threads (0: not given); processes: this machine's ranks of an mpirun, which
  // share its cores (1 without MPI). Sets the count every loop and OpenBLAS use from now on.
  RunThreads(int64_t requested, int processes);

  // The start-up decision for the load seen since construction; returns the line to print:
  // "threads: 1 of 2 cores (other processes are using 1.0 of them; ...)".
  std::string settle();
  // Between steps (after optimizer step `step`): when the count changes, sets it and returns
  // the line to print; the change is kept for summary().
  std::optional<std::string> adapt(int64_t step);

  // For summary.json: {"threads", "threads_source", "threads_at_start", "thread_changes"} and
  // "cpu_limit_cores" under a CPU limit.
  nlohmann::json summary() const;

 private:
  std::string source_;  // "--threads", "OMP_NUM_THREADS", "idle cores"
  std::optional<ThreadGovernor> governor_;
  std::optional<double> cpu_limit_;  // the control group's CPU limit in cores, if any
  int at_start_ = 1;
  nlohmann::json changes_ = nlohmann::json::array();
};

}  // namespace ag::apps
