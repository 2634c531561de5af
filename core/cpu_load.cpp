#include "core/cpu_load.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace ag {

namespace {

// The whole of a /proc file (their reported size is 0, so read until the end); "" on failure.
std::string read_proc_file(const char* path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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

std::optional<CpuTimes> read_cpu_times(const std::vector<int>& cores) {
  const std::string stat = read_proc_file("/proc/stat");
  const std::string self = read_proc_file("/proc/self/stat");
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
