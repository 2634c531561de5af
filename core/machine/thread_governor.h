// How many threads to run on a machine that other programs use too.
//
// Every GEMM is split statically: with 2 threads, each does half. When another process keeps
// one of 2 cores busy, the thread that shares its core with it runs at half speed and the
// other waits for it at the end of every GEMM, so 2 threads run slower than 1 (measured in the
// README's Performance section). The governor therefore runs one thread per core that other
// processes leave free:
//
//   others  = cores' worth of CPU time other processes took on our cores (core/machine/cpu_load.h)
//   taken   = floor(others + 0.6)      a core counts as taken once others use 0.4 of it
//   threads = clamp(cores − taken, 1, max_threads)
//
// at start-up (over the time the model and data take to load), and again every couple of
// seconds between training steps. A change needs two readings in a row that agree, so a short
// burst (a shell command, a cron job) does not move it.
#pragma once

#include <functional>
#include <optional>

#include "core/machine/cpu_load.h"

namespace ag {

// A core counts as taken by other processes once they use this share of it.
constexpr double kTakenCoreShare = 0.4;

// The rule above.
int threads_for_load(int max_threads, int cores, double others_load);

struct ThreadDecision {
  int threads = 1;
  double others_load = 0;  // cores' worth other processes used over the reading's window
};

class ThreadGovernor {
 public:
  using Reader = std::function<std::optional<CpuTimes>()>;
  using Clock = std::function<double()>;

  // max_threads: the most this process may run (its share of the cores); cores: how many cores
  // it may run on; read: the counters (core/machine/cpu_load.h), nullopt when unavailable; clock:
  // the time the counters' `seconds` follow, so that poll() reads them only once per window.
  ThreadGovernor(int max_threads, int cores, Reader read, Clock clock, double ticks_per_second,
                 double window_seconds = 2.0);
  // The governor of this process: its affinity mask, /proc, and sysconf's clock ticks.
  static ThreadGovernor for_this_process(int max_threads);

  // The thread count for the load since construction, over at least `min_seconds` (sleeps the
  // rest). nullopt when the counters cannot be read.
  std::optional<ThreadDecision> decide_now(double min_seconds = 0.25);
  // Between steps: a new thread count when `window_seconds` have passed since the last reading
  // and this reading and the one before both asked for the same count, different from
  // `current`; nullopt otherwise. Within a window it only looks at the clock, so it is cheap
  // enough to call after every step.
  std::optional<ThreadDecision> poll(int current);

  int cores() const { return cores_; }

 private:
  int max_threads_, cores_;
  Reader read_;
  Clock clock_;
  double ticks_per_second_, window_seconds_;
  std::optional<CpuTimes> last_;
  int pending_threads_ = 0;  // the change the previous reading asked for (0: none)
};

}  // namespace ag
