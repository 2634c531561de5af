// The thread governor: the /proc parsers on recorded text, the rule on hand-worked loads, and
// the governor's decisions on scripted counter readings (core/machine/cpu_load.h,
// core/machine/thread_governor.h). test_train_threads runs it end to end against a real busy
// process.
#include <doctest/doctest.h>

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/machine/cpu_load.h"
#include "core/machine/thread_governor.h"

using namespace ag;

// Recorded from a 2-core machine (the intr line shortened).
static const char* kProcStat =
    "cpu  1605087 20741 160932 203482 966 0 539 3208 0 0\n"
    "cpu0 794795 12317 78282 109751 472 0 55 1574 0 0\n"
    "cpu1 810292 8423 82650 93731 493 0 483 1633 0 0\n"
    "intr 8328019 0 0 0\n"
    "ctxt 123456\n";

TEST_CASE("busy ticks: user + nice + system + irq + softirq + steal of the listed cores") {
  const int64_t cpu0 = 794795 + 12317 + 78282 + 0 + 55 + 1574;
  const int64_t cpu1 = 810292 + 8423 + 82650 + 0 + 483 + 1633;
  CHECK(busy_ticks_of_cores(kProcStat, {0}) == cpu0);
  CHECK(busy_ticks_of_cores(kProcStat, {1}) == cpu1);
  CHECK(busy_ticks_of_cores(kProcStat, {0, 1}) == cpu0 + cpu1);
  // A kernel before 2.6.11 has no steal column.
  CHECK(busy_ticks_of_cores("cpu3 10 20 30 400 5 6 7\n", {3}) == 10 + 20 + 30 + 6 + 7);
}

TEST_CASE("busy ticks: a core without a line, or a short line, is an error") {
  CHECK_THROWS_WITH_AS(busy_ticks_of_cores(kProcStat, {0, 2}), "/proc/stat: cpu2: no such line",
                       Error);
  CHECK_THROWS_AS(busy_ticks_of_cores("cpu0 1 2 3\n", {0}), Error);
}

TEST_CASE("process ticks: utime + stime, counted after the last ')' of the program name") {
  // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime ...; this program's name holds ") S (" itself.
  CHECK(process_ticks("4242 (odd) S (name) R 1 4242 4242 0 -1 4194304 900 0 3 0 "
                      "1500 250 0 0 20 0 3 0 100 0") == 1750);
  CHECK_THROWS_AS(process_ticks("4242 odd R 1"), Error);
  CHECK_THROWS_AS(process_ticks("4242 (short) R 1 2 3"), Error);
}

TEST_CASE("other processes' load: their ticks on our cores over the elapsed ticks") {
  // 2 s at 100 ticks/s on 2 cores: 350 busy ticks, 160 of them ours -> 190 / 200 = 0.95 cores.
  const CpuTimes before{1000, 500, 10.0}, after{1350, 660, 12.0};
  CHECK(other_processes_load(before, after, 100.0) == doctest::Approx(0.95));
  // Tick rounding can make our own share exceed the cores' count briefly: never below 0.
  CHECK(other_processes_load({1000, 500, 10.0}, {1100, 610, 10.5}, 100.0) == 0.0);
  CHECK(other_processes_load(before, before, 100.0) == 0.0);  // no time elapsed
}

TEST_CASE("the rule: a core is taken once others use 0.4 of it; at least 1 thread") {
  struct Case {
    int max_threads, cores;
    double others;
    int expected;
  };
  for (const Case& c :
       {Case{2, 2, 0.0, 2}, Case{2, 2, 0.39, 2}, Case{2, 2, 0.4, 1}, Case{2, 2, 1.0, 1},
        Case{2, 2, 1.7, 1}, Case{2, 2, 3.0, 1}, Case{8, 8, 2.5, 5}, Case{8, 8, 2.3, 6},
        Case{4, 8, 0.0, 4}, Case{4, 8, 4.2, 4}, Case{4, 8, 4.5, 3}, Case{1, 1, 0.9, 1}}) {
    INFO(c.max_threads << " max, " << c.cores << " cores, others " << c.others);
    CHECK(threads_for_load(c.max_threads, c.cores, c.others) == c.expected);
  }
}

// A governor over a scripted 2-core machine at 100 ticks/s: each moment (`then`) advances the
// clock by `seconds` and the counters by others' and our cores' worth over that time. Each
// clock() call moves to the next moment, and a reading taken then returns its counters; the
// constructor and decide_now() read without looking at the clock, and move on too.
struct ScriptedMachine {
  struct Moment {
    double seconds;
    std::optional<CpuTimes> counters;  // nullopt: they cannot be read then
  };
  CpuTimes now{0, 0, 0.0};
  std::deque<Moment> moments;
  std::optional<Moment> current;  // the moment the clock moved to, until it is read
  int reads = 0;

  ScriptedMachine& then(double seconds, double others, double ours) {
    now.seconds += seconds;
    now.cores_busy_ticks += int64_t((others + ours) * seconds * 100.0);
    now.self_ticks += int64_t(ours * seconds * 100.0);
    moments.push_back({now.seconds, now});
    return *this;
  }
  ScriptedMachine& unreadable(double seconds) {
    now.seconds += seconds;
    moments.push_back({now.seconds, std::nullopt});
    return *this;
  }
  Moment next_moment() {
    REQUIRE_FALSE(moments.empty());
    const Moment m = moments.front();
    moments.pop_front();
    return m;
  }
  ThreadGovernor governor(int max_threads = 2) {
    return ThreadGovernor(
        max_threads, 2,
        [this] {
          ++reads;
          const Moment m = current ? *current : next_moment();
          current.reset();
          return m.counters;
        },
        [this] {
          current = next_moment();
          return current->seconds;
        },
        100.0, 2.0);
  }
};

TEST_CASE("governor at start-up: the load since it was made decides") {
  struct Case {
    double others;
    int threads;
  };
  // Quiet, then another process keeping one core busy while the model loads.
  for (const Case c : {Case{0.0, 2}, Case{1.0, 1}}) {
    ScriptedMachine m;
    m.then(0, 0, 0).then(0.5, c.others, 1.0);
    const std::optional<ThreadDecision> d = m.governor().decide_now();
    REQUIRE(d);
    CHECK(d->threads == c.threads);
    CHECK(d->others_load == doctest::Approx(c.others));
  }
  ScriptedMachine no_proc;  // no /proc: no decision, the caller keeps its count
  no_proc.unreadable(0);
  CHECK_FALSE(no_proc.governor().decide_now());
}

TEST_CASE("governor between steps: a change needs two windows in a row that agree") {
  ScriptedMachine m;
  m.then(0, 0, 0)
      .then(1.0, 1.0, 2.0)   // less than a window: the counters are not read
      .then(1.5, 1.0, 2.0)   // window 1 (2.5 s): others 1.0 -> asks for 1 thread
      .then(2.0, 0.0, 2.0)   // window 2: quiet again -> the request lapses
      .then(2.0, 0.7, 1.3)   // window 3: asks for 1 (others get 0.7 of a shared core)
      .then(2.0, 1.0, 1.0)   // window 4: asks for 1 again -> change to 1
      .then(2.0, 1.0, 1.0)   // window 5: 1 is what runs: nothing
      .then(2.0, 0.0, 1.0)   // window 6: the other process ended -> asks for 2
      .unreadable(2.0)       // /proc vanished for a moment: nothing
      .then(2.0, 0.1, 2.0);  // window 7: asks for 2 again -> change to 2
  ThreadGovernor g = m.governor();
  int threads = 2;
  std::vector<std::pair<int, int>> changes;  // (poll number, new count)
  for (int i = 1; i <= 9; ++i)
    if (auto d = g.poll(threads)) {
      threads = d->threads;
      changes.push_back({i, threads});
    }
  CHECK(changes == std::vector<std::pair<int, int>>{{5, 1}, {9, 2}});
  CHECK(m.moments.empty());
  CHECK(m.reads == 1 + 8);  // the constructor's, then every poll but the first (within a window)
}

TEST_CASE("governor: the most threads it gives is the process's share") {
  ScriptedMachine m;  // 2 cores, quiet, but this process may run 1 (2 ranks share them)
  m.then(0, 0, 0).then(0.5, 0.0, 1.0);
  CHECK(m.governor(1).decide_now()->threads == 1);
}

TEST_CASE("this machine's counters read, and our own busy time is not counted as others'") {
  const std::vector<int> cores = allowed_cores();
  REQUIRE_FALSE(cores.empty());
  const auto before = read_cpu_times(cores);
  REQUIRE(before);
  volatile double x = 0;  // busy for about 0.3 s of our own time
  while (read_cpu_times(cores)->self_ticks - before->self_ticks < 30) x = x + 1.0;
  const auto after = read_cpu_times(cores);
  REQUIRE(after);
  CHECK(after->self_ticks - before->self_ticks >= 30);
  CHECK(after->cores_busy_ticks - before->cores_busy_ticks >= 25);  // our ticks are in there
  CHECK(after->seconds > before->seconds);
}

TEST_CASE("a container's CPU limit: cgroup v2 cpu.max and v1 cfs quota, in cores") {
  CHECK(*cpu_limit_from_cpu_max("150000 100000\n") == doctest::Approx(1.5));
  CHECK(*cpu_limit_from_cpu_max("200000 100000") == doctest::Approx(2.0));
  CHECK_FALSE(cpu_limit_from_cpu_max("max 100000\n"));  // no limit
  CHECK_FALSE(cpu_limit_from_cpu_max(""));              // no such file
  CHECK_FALSE(cpu_limit_from_cpu_max("garbage"));
  CHECK(*cpu_limit_from_cfs("50000\n", "100000\n") == doctest::Approx(0.5));
  CHECK_FALSE(cpu_limit_from_cfs("-1\n", "100000\n"));  // no limit
  CHECK_FALSE(cpu_limit_from_cfs("100000\n", "0\n"));
}

TEST_CASE("the cpu controller's group in /proc/self/cgroup") {
  const std::string v1 =  // a v1 (hybrid) host: the cpu controller shares a line with cpuacct
      "12:pids:/user.slice\n4:cpu,cpuacct:/docker/abc123\n3:cpuset:/docker/abc123\n"
      "0::/user.slice/session-1.scope\n";
  CHECK(*cpu_cgroup_path(v1, false) == "/docker/abc123");
  CHECK(*cpu_cgroup_path(v1, true) == "/user.slice/session-1.scope");
  CHECK(*cpu_cgroup_path("0::/\n", true) == "/");
  CHECK_FALSE(cpu_cgroup_path("0::/\n", false));
  CHECK_FALSE(cpu_cgroup_path("5:cpuacct:/x\n", false));  // cpuacct is not cpu
}

// Writes `text` to root/relative, creating the folders.
static void write_file(const std::filesystem::path& root, const std::string& relative,
                       const std::string& text) {
  std::filesystem::create_directories((root / relative).parent_path());
  std::ofstream(root / relative) << text;
}

TEST_CASE("a container's CPU limit: the smallest over the group and its ancestors") {
  const auto root = std::filesystem::temp_directory_path() /
                    ("adaptgrad_cgroup_test_" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  SUBCASE("cgroup v2: the parent's limit binds a child that has none") {
    write_file(root, "cgroup.controllers", "cpu memory\n");
    write_file(root, "kubepods/cpu.max", "150000 100000\n");
    write_file(root, "kubepods/pod1/cpu.max", "max 100000\n");
    write_file(root, "kubepods/pod1/app/cpu.max", "300000 100000\n");
    CHECK(*cgroup_cpu_limit("0::/kubepods/pod1/app\n", root.string()) == doctest::Approx(1.5));
    CHECK_FALSE(cgroup_cpu_limit("0::/other\n", root.string()));  // no file: no limit
  }
  SUBCASE("cgroup v1 in a container: the host's path is missing, the mount's root binds") {
    write_file(root, "cpu/cpu.cfs_quota_us", "200000\n");
    write_file(root, "cpu/cpu.cfs_period_us", "100000\n");
    CHECK(*cgroup_cpu_limit("4:cpu,cpuacct:/docker/abc123\n0::/\n", root.string()) ==
          doctest::Approx(2.0));
  }
  SUBCASE("cgroup v1 without a quota") {
    write_file(root, "cpu/cpu.cfs_quota_us", "-1\n");
    write_file(root, "cpu/cpu.cfs_period_us", "100000\n");
    CHECK_FALSE(cgroup_cpu_limit("1:cpu:/\n", root.string()));
  }
  std::filesystem::remove_all(root);
}
