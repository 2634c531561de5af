#include "core/machine/thread_governor.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace ag {

int threads_for_load(int max_threads, int cores, double others_load) {
  const int taken = int(std::floor(std::max(0.0, others_load) + (1.0 - kTakenCoreShare)));
  return std::clamp(cores - taken, 1, std::max(1, max_threads));
}

ThreadGovernor::ThreadGovernor(int max_threads, int cores, Reader read, Clock clock,
                               double ticks_per_second, double window_seconds)
    : max_threads_(std::max(1, max_threads)),
      cores_(std::max(1, cores)),
      read_(std::move(read)),
      clock_(std::move(clock)),
      ticks_per_second_(ticks_per_second),
      window_seconds_(window_seconds),
      last_(read_()) {}

ThreadGovernor ThreadGovernor::for_this_process(int max_threads) {
  const std::vector<int> cores = allowed_cores();
  const long ticks = sysconf(_SC_CLK_TCK);
  return ThreadGovernor(
      max_threads, int(cores.size()), [cores] { return read_cpu_times(cores); }, monotonic_seconds,
      ticks > 0 ? double(ticks) : 100.0);
}

std::optional<ThreadDecision> ThreadGovernor::decide_now(double min_seconds) {
  if (!last_) return std::nullopt;
  std::optional<CpuTimes> now = read_();
  if (now && now->seconds - last_->seconds < min_seconds) {
    std::this_thread::sleep_for(
        std::chrono::duration<double>(min_seconds - (now->seconds - last_->seconds)));
    now = read_();
  }
  if (!now) return std::nullopt;
  const double load = other_processes_load(*last_, *now, ticks_per_second_);
  last_ = now;
  return ThreadDecision{threads_for_load(max_threads_, cores_, load), load};
}

std::optional<ThreadDecision> ThreadGovernor::poll(int current) {
  if (!last_ || clock_() - last_->seconds < window_seconds_) return std::nullopt;
  const std::optional<CpuTimes> now = read_();
  if (!now || now->seconds - last_->seconds < window_seconds_) return std::nullopt;
  const double load = other_processes_load(*last_, *now, ticks_per_second_);
  last_ = now;
  const int wanted = threads_for_load(max_threads_, cores_, load);
  if (wanted == current) {
    pending_threads_ = 0;
    return std::nullopt;
  }
  if (wanted != pending_threads_) {  // the first reading that asks for it: wait for a second
    pending_threads_ = wanted;
    return std::nullopt;
  }
  pending_threads_ = 0;
  return ThreadDecision{wanted, load};
}

}  // namespace ag
