// Running the apps (build/bin/train, predict, ...) as processes from the tests, in a scratch
// folder private to the test process, on the synthetic demo task with a tiny randomly
// initialised DistilBERT (a config.json written there). Used by test_train_app and test_mpi.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/io/read_file.h"
#include "core/io/safetensors.h"

namespace app_runner {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

// Files the apps wrote: run folders, merged models (a few MB here).
inline constexpr ag::FileKind kAppOutput{"file an app wrote", uint64_t(1) << 32};

inline std::string slurp(const fs::path& p) {
  return ag::read_file(p.string(), kAppOutput);
}

inline void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline fs::path bin_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path();
}

// Removes the scratch folder when the test program exits.
struct RemoveAtExit {
  fs::path dir;
  ~RemoveAtExit() {
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
};

// A scratch folder with the tiny model config, private to this process.
inline const fs::path& scratch() {
  static RemoveAtExit cleanup;
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("adaptgrad_train_test_" + std::to_string(getpid()));
    fs::remove_all(d);
    fs::create_directories(d / "tiny");
    // Small enough to train in milliseconds; the demo's word vocabulary has < 100 tokens.
    write(d / "tiny" / "config.json", R"({"model_type": "distilbert", "vocab_size": 128,
      "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64, "max_position_embeddings": 64,
      "dropout": 0.1, "attention_dropout": 0.1, "seq_classif_dropout": 0.1,
      "initializer_range": 0.2, "pad_token_id": 0})");
    cleanup.dir = d;
    return d;
  }();
  return dir;
}

// Runs a shell command line with no standard input; returns its exit code and output.
inline Result run_command(const std::string& command) {
  static int counter = 0;
  const fs::path out = scratch() / ("stdout" + std::to_string(counter));
  const fs::path err = scratch() / ("stderr" + std::to_string(counter++));
  const std::string cmd = command + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Runs build/bin/<program> with `args`. The startup BLAS kernel check is off, so that what the
// apps print does not depend on the machine's CPU (test_blas_check tests the check itself).
inline Result run(const std::string& program, const std::string& args) {
  return run_command("ADAPTGRAD_BLAS_CHECK=0 " + (bin_dir() / program).string() + " " + args);
}

// Starts build/bin/<program> with `args` in the background (output discarded); returns its
// PID, to be passed to wait_for().
inline pid_t spawn(const std::string& program, const std::string& args) {
  const std::string command = "ADAPTGRAD_BLAS_CHECK=0 exec " + (bin_dir() / program).string() +
                              " " + args + " >/dev/null 2>&1 </dev/null";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits for a spawn()ed process; returns its exit code (128 + signal when killed).
inline int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The common settings of the tiny demo runs.
inline std::string demo_args(const std::string& out) {
  return "--model " + (scratch() / "tiny" / "config.json").string() +
         " --demo --demo-size 200 --batch-size 8 --epochs 2 --max-steps 30 --eval-every 10"
         " --lr 5e-3 --threads 1 --quiet-params --out " +
         (scratch() / out).string();
}

inline bool have_apps() {
  return fs::exists(bin_dir() / "train") && fs::exists(bin_dir() / "predict");
}

inline int64_t checkpoint_step(const std::string& out) {
  auto file = ag::safetensors::File::open(
      (scratch() / out / "checkpoint" / "checkpoint.safetensors").string());
  const std::string state = file.metadata().at("state");
  const size_t at = state.find("\"step\":");
  return std::stoll(state.substr(at + 7));
}

// The tensors of two checkpoints (the last state, not just the best one) are bit-identical.
inline void check_same_checkpoint_tensors(const std::string& a, const std::string& b) {
  auto fa = ag::safetensors::File::open(
      (scratch() / a / "checkpoint" / "checkpoint.safetensors").string());
  auto fb = ag::safetensors::File::open(
      (scratch() / b / "checkpoint" / "checkpoint.safetensors").string());
  REQUIRE(fa.tensors().size() == fb.tensors().size());
  for (auto& info : fa.tensors()) {
    INFO(info.name);
    REQUIRE(fb.contains(info.name));
    CHECK(fa.raw_bytes(info.name) == fb.raw_bytes(info.name));
  }
}

inline void check_one_line_error(const Result& r) {
  INFO("stderr: " << r.err);
  CHECK(r.code != 0);
  CHECK(r.err.rfind("error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace app_runner
