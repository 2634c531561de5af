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
  double seconds = 0;            // monotonic_seconds() when read
};

// Seconds since an arbitrary origin, from the steady clock.
double monotonic_seconds();

// The busy ticks (user, nice, system, irq, softirq, steal) of the "cpuN" lines of /proc/stat
// text whose N is in `cores`. Throws ag::Error when a listed core has no line.
int64_t busy_ticks_of_cores(const std::string& proc_stat, const std::vector<int>& cores);
// utime + stime of /proc/<pid>/stat text (fields 14 and 15, counted after the ")" that ends
// the program name, which may itself hold spaces and parentheses). Throws ag::Error.
int64_t process_ticks(const std::string& proc_pid_stat);
// The cores this process may run on (its affinity mask), in increasing order.
std::vector<int> allowed_cores();

// A container's CPU limit ("docker run --cpus 2", a Kubernetes CPU limit) lets the process see
// every core of the host but run only quota/period cores' worth of time per period: more
// threads than that are throttled in turn. Read from the control group's files:
//   cgroup v2: <group>/cpu.max = "150000 100000" (quota and period, µs) or "max 100000";
//   cgroup v1: <group>/cpu.cfs_quota_us = "150000" (-1: none), cpu.cfs_period_us = "100000".
// Each parser returns quota / period in cores, nullopt for "no limit" or text it cannot read.
std::optional<double> cpu_limit_from_cpu_max(const std::string& cpu_max);
std::optional<double> cpu_limit_from_cfs(const std::string& quota_us, const std::string& period_us);
// The group of the "cpu" controller in /proc/self/cgroup text: "/docker/abc" from
// "0::/docker/abc" (v2, when no v1 line names cpu) or "4:cpu,cpuacct:/docker/abc" (v1).
std::optional<std::string> cpu_cgroup_path(const std::string& proc_self_cgroup, bool v2);
// This process's CPU limit in cores: the smallest over its group and the group's ancestors, as
// mounted under /sys/fs/cgroup (v2, or v1's cpu controller); nullopt when there is none.
std::optional<double> cgroup_cpu_limit();
// The same for the groups of `proc_self_cgroup` text, read under `root` instead.
std::optional<double> cgroup_cpu_limit(const std::string& proc_self_cgroup,
                                       const std::string& root);

// Reads /proc/stat and /proc/self/stat for `cores`; nullopt where they cannot be read (not
// Linux, /proc not mounted): the caller then keeps its thread count.
std::optional<CpuTimes> read_cpu_times(const std::vector<int>& cores);

// Cores' worth of CPU time other processes took between two readings (>= 0).
double other_processes_load(const CpuTimes& before, const CpuTimes& after, double ticks_per_second);

}  // namespace ag
