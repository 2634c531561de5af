#include "apps/common/run_threads.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/machine/cpu_load.h"
#include "core/parallel.h"

namespace ag::apps {

namespace {

// "1.0": a number of cores (a load, a limit) to one decimal.
std::string cores_text(double cores) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", cores);
  return text;
}

}  // namespace

RunThreads::RunThreads(int64_t requested, int processes) {
  const char* omp_env = std::getenv("OMP_NUM_THREADS");
  if (requested > 0) {
    source_ = "--threads";
    set_num_threads(int(requested));
  } else if (omp_env && *omp_env) {
    source_ = "OMP_NUM_THREADS";
    set_num_threads(omp_get_max_threads());  // libgomp parsed it; OpenBLAS follows
  } else {
    // This process's share of the cores it may use: all of them, or 1/processes under mpirun;
    // under a container's CPU limit, as many as the limit (rounded up).
    source_ = "idle cores";
    int usable = hardware_threads();
    if (const std::optional<double> limit = cgroup_cpu_limit()) {
      cpu_limit_ = *limit;
      usable = std::clamp(int(std::ceil(*limit - 1e-9)), 1, usable);
    }
    const int share = std::max(1, usable / std::max(1, processes));
    set_num_threads(share);
    governor_.emplace(ThreadGovernor::for_this_process(share));
  }
  at_start_ = get_num_threads();
}

std::string RunThreads::settle() {
  const std::string fixed = "threads: " + std::to_string(get_num_threads()) + " (" + source_ + ")";
  if (!governor_) return fixed;
  const std::optional<ThreadDecision> d = governor_->decide_now();
  if (!d) return fixed + ", /proc unreadable: not adapted to the machine's load";
  set_num_threads(d->threads);
  at_start_ = d->threads;
  const std::string cores = std::to_string(governor_->cores());
  return "threads: " + std::to_string(d->threads) + " of " + cores +
         " cores (other processes are using " + cores_text(d->others_load) + " of them" +
         (cpu_limit_ ? "; CPU limit " + cores_text(*cpu_limit_) + " cores" : "") +
         "; --threads N fixes the count)";
}

std::optional<std::string> RunThreads::adapt(int64_t step) {
  if (!governor_) return std::nullopt;
  const int before = get_num_threads();
  const std::optional<ThreadDecision> d = governor_->poll(before);
  if (!d) return std::nullopt;
  set_num_threads(d->threads);
  changes_.push_back({{"step", step}, {"threads", d->threads}, {"others_load", d->others_load}});
  return "threads: " + std::to_string(before) + " -> " + std::to_string(d->threads) +
         " after step " + std::to_string(step) + " (other processes are using " +
         cores_text(d->others_load) + " of " + std::to_string(governor_->cores()) + " cores)";
}

nlohmann::json RunThreads::summary() const {
  nlohmann::json s = {{"threads", get_num_threads()},
                      {"threads_source", source_},
                      {"threads_at_start", at_start_},
                      {"thread_changes", changes_}};
  if (cpu_limit_) s["cpu_limit_cores"] = *cpu_limit_;
  return s;
}

}  // namespace ag::apps
