// How much of this process's cores other processes use, read from Linux's CPU time counters.
//
// /proc/stat counts, per core, the clock ticks (USER_HZ, 100 per second) spent busy; the
// process's own ticks are in /proc/self/stat. Between two readings,
//
//   busy ticks on our cores − our own ticks = ticks spent by everybody else on our cores,
//
// and divided by the elapsed ticks this is the number of cores' worth other processes took:
// 0.0 on a quiet machine, 1.0 while another process keeps one core busy. Our own threads are
// subtracted, so the reading is the same whether we run 1 thread or 8.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ag {

// One reading of the counters.
struct CpuTimes {
  int64_t cores_busy_ticks = 0;  // busy ticks summed over the cores this process may run on
  int64_t self_ticks = 0;        // this process's user + system ticks, all its threads
  double seconds = 0;            // a monotonic clock
};

// The busy ticks (user, nice, system, irq, softirq, steal) of the "cpuN" lines of /proc/stat
// text whose N is in `cores`. Throws ag::Error when a listed core has no line.
int64_t busy_ticks_of_cores(const std::string& proc_stat, const std::vector<int>& cores);
// utime + stime of /proc/<pid>/stat text (fields 14 and 15, counted after the ")" that ends
// the program name, which may itself hold spaces and parentheses). Throws ag::Error.
int64_t process_ticks(const std::string& proc_pid_stat);
// The cores this process may run on (its affinity mask), in increasing order.
std::vector<int> allowed_cores();

// Reads /proc/stat and /proc/self/stat for `cores`; nullopt where they cannot be read (not
// Linux, /proc not mounted): the caller then keeps its thread count.
std::optional<CpuTimes> read_cpu_times(const std::vector<int>& cores);

// Cores' worth of CPU time other processes took between two readings (>= 0).
double other_processes_load(const CpuTimes& before, const CpuTimes& after, double ticks_per_second);

}  // namespace ag
