// train's thread count end to end: fixed by --threads or OMP_NUM_THREADS, and otherwise one
// thread per core that other processes leave free, checked here against a real busy process
// on one of two cores (apps/common/run_threads.h).
#include <doctest/doctest.h>
#include <sched.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "core/machine/cpu_load.h"
#include "tests/app_runner.h"

using namespace app_runner;

namespace {

// The tiny demo run without a thread count.
std::string args_without_threads(const std::string& out) {
  return "--model " + (scratch() / "tiny" / "config.json").string() +
         " --demo --demo-size 200 --batch-size 8 --epochs 1 --max-steps 5 --quiet-params"
         " --overwrite --out " +
         (scratch() / out).string();
}

nlohmann::json summary_of(const std::string& out) {
  return nlohmann::json::parse(slurp(scratch() / out / "summary.json"));
}

// A process that keeps `core` busy until it is killed.
pid_t start_busy_process(int core) {
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(core, &one);
    sched_setaffinity(0, sizeof(one), &one);
    execl("/bin/sh", "sh", "-c", "while :; do :; done", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("--threads and OMP_NUM_THREADS fix the thread count") {
  REQUIRE(have_apps());
  Result r = run("train", args_without_threads("fixed") + " --threads 1");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("threads: 1 (--threads)\n") != std::string::npos);
  CHECK(summary_of("fixed")["threads_source"] == "--threads");

  r = run_command("OMP_NUM_THREADS=1 ADAPTGRAD_BLAS_CHECK=0 " + (bin_dir() / "train").string() +
                  " " + args_without_threads("omp"));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("threads: 1 (OMP_NUM_THREADS)\n") != std::string::npos);
  const nlohmann::json s = summary_of("omp");
  CHECK(s["threads"] == 1);
  CHECK(s["blas"]["threads"] == 1);
}

TEST_CASE("by default train runs 1 thread on 2 cores when another process keeps one busy") {
  REQUIRE(have_apps());
  const std::vector<int> cores = ag::allowed_cores();
  REQUIRE_MESSAGE(cores.size() >= 2, "needs two cores to run on");
  const std::string pair = std::to_string(cores[0]) + "," + std::to_string(cores[1]);
  const pid_t busy = start_busy_process(cores[1]);
  const Result r = run_command("ADAPTGRAD_BLAS_CHECK=0 taskset -c " + pair + " " +
                               (bin_dir() / "train").string() + " " + args_without_threads("busy"));
  kill(busy, SIGKILL);
  waitpid(busy, nullptr, 0);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("threads: 1 of 2 cores (other processes are using ") != std::string::npos);
  const nlohmann::json s = summary_of("busy");
  CHECK(s["threads_source"] == "idle cores");
  CHECK(s["threads_at_start"] == 1);
  CHECK(s["blas"]["threads"] == s["threads"]);
}
