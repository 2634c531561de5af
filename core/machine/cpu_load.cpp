#include "core/machine/cpu_load.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "core/errors.h"
#include "core/io/read_file.h"

namespace ag {

namespace {

// The whole of a kernel file (/proc, /sys/fs/cgroup), or "" when it cannot be read.
std::string read_or_empty(const std::string& path) {
  try {
    return read_file(path, kKernelFile);
  } catch (const Error&) {
    return "";
  }
}

}  // namespace

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {

// A positive number of microseconds from text such as "150000\n"; nullopt otherwise.
std::optional<double> positive_microseconds(const std::string& text) {
  std::istringstream in(text);
  double value = 0;
  if (!(in >> value) || !(value > 0)) return std::nullopt;
  return value;
}

}  // namespace

int64_t busy_ticks_of_cores(const std::string& proc_stat, const std::vector<int>& cores) {
  // Lines "cpuN user nice system idle iowait irq softirq steal guest guest_nice"; guest time is
  // already inside user, and idle and iowait are the time nobody used the core.
  std::vector<bool> seen(cores.size(), false);
  int64_t busy = 0;
  std::istringstream lines(proc_stat);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream fields(line.substr(3));
    int core = -1;
    int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    fields >> core >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
    if (!fields) throw Error("/proc/stat", "line \"" + line + "\"", "expected cpuN and 7 counters");
    fields >> steal;  // since Linux 2.6.11; absent before
    const auto it = std::find(cores.begin(), cores.end(), core);
    if (it == cores.end()) continue;
    seen[size_t(it - cores.begin())] = true;
    busy += user + nice + system + irq + softirq + std::max<int64_t>(steal, 0);
  }
  for (size_t i = 0; i < cores.size(); ++i)
    if (!seen[i]) throw Error("/proc/stat", "cpu" + std::to_string(cores[i]), "no such line");
  return busy;
}

int64_t process_ticks(const std::string& proc_pid_stat) {
  // "pid (comm) state ppid ..." with utime and stime the 14th and 15th fields; comm may hold
  // ") " itself, so count from the last ')'.
  const size_t close = proc_pid_stat.rfind(')');
  if (close == std::string::npos) throw Error("/proc/self/stat", "program name", "no closing ')'");
  std::istringstream fields(proc_pid_stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 13; ++i) fields >> field;  // state .. cmajflt
  int64_t utime = -1, stime = -1;
  fields >> utime >> stime;
  if (!fields || utime < 0 || stime < 0)
    throw Error("/proc/self/stat", "fields 14-15", "expected utime and stime");
  return utime + stime;
}

std::vector<int> allowed_cores() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  std::vector<int> cores;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return cores;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mask)) cores.push_back(c);
  return cores;
}

std::optional<double> cpu_limit_from_cpu_max(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota, period;
  if (!(in >> quota >> period) || quota == "max") return std::nullopt;
  const auto q = positive_microseconds(quota), p = positive_microseconds(period);
  if (!q || !p) return std::nullopt;
  return *q / *p;
}

std::optional<double> cpu_limit_from_cfs(const std::string& quota_us,
                                         const std::string& period_us) {
  const auto q = positive_microseconds(quota_us), p = positive_microseconds(period_us);
  if (!q || !p) return std::nullopt;  // a quota of -1 means none
  return *q / *p;
}

std::optional<std::string> cpu_cgroup_path(const std::string& proc_self_cgroup, bool v2) {
  // Lines "hierarchy-id:controllers:path"; v2's single line is "0::path".
  std::istringstream lines(proc_self_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (v2 && line.compare(0, first, "0") == 0 && controllers.empty()) return path;
    if (!v2) {
      std::istringstream names(controllers);
      for (std::string name; std::getline(names, name, ',');)
        if (name == "cpu") return path;
    }
  }
  return std::nullopt;
}

std::optional<double> cgroup_cpu_limit() {
  return cgroup_cpu_limit(read_or_empty("/proc/self/cgroup"), "/sys/fs/cgroup");
}

std::optional<double> cgroup_cpu_limit(const std::string& groups, const std::string& root) {
  std::optional<double> limit;
  struct Mount {
    std::string dir;
    bool v2;
  };
  for (const Mount& m :
       {Mount{root, true}, Mount{root + "/cpu", false}, Mount{root + "/cpu,cpuacct", false}}) {
    const std::string& mount = m.dir;
    if (m.v2 && read_or_empty(mount + "/cgroup.controllers").empty()) continue;
    const std::optional<std::string> path = cpu_cgroup_path(groups, m.v2);
    if (!path || path->empty() || (*path)[0] != '/') continue;
    // From the group up to the mount's root. In a container the mount's root is the
    // container's own group while /proc/self/cgroup may name the host's path: the missing
    // directories read as "no limit" and the walk goes on upward.
    for (std::string group = *path;;) {
      const std::string dir = mount + (group == "/" ? "" : group);
      const std::optional<double> here =
          m.v2 ? cpu_limit_from_cpu_max(read_or_empty(dir + "/cpu.max"))
               : cpu_limit_from_cfs(read_or_empty(dir + "/cpu.cfs_quota_us"),
                                    read_or_empty(dir + "/cpu.cfs_period_us"));
      if (here && (!limit || *here < *limit)) limit = here;
      if (group == "/") break;
      const size_t slash = group.rfind('/');
      group = slash == 0 ? "/" : group.substr(0, slash);
    }
  }
  return limit;
}

std::optional<CpuTimes> read_cpu_times(const std::vector<int>& cores) {
  const std::string stat = read_or_empty("/proc/stat");
  const std::string self = read_or_empty("/proc/self/stat");
  if (stat.empty() || self.empty() || cores.empty()) return std::nullopt;
  try {
    return CpuTimes{busy_ticks_of_cores(stat, cores), process_ticks(self), monotonic_seconds()};
  } catch (const Error&) {
    return std::nullopt;  // an unexpected /proc: keep the thread count rather than guess
  }
}

double other_processes_load(const CpuTimes& before, const CpuTimes& after,
                            double ticks_per_second) {
  const double elapsed_ticks = (after.seconds - before.seconds) * ticks_per_second;
  if (elapsed_ticks <= 0) return 0.0;
  const double others = double((after.cores_busy_ticks - before.cores_busy_ticks) -
                               (after.self_ticks - before.self_ticks));
  return std::max(0.0, others / elapsed_ticks);
}

}  // namespace ag
