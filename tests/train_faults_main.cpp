// build/bin/train_faults: build/bin/train with the faults the end-to-end tests inject into a run
// at a chosen optimizer step, through the train app's observer seam (apps/train/run_observer.h).
// Built with the tests only; the real app has none of these flags:
//   --nan-at-step N          the loss of step N is NaN (as a diverging run's)
//   --interrupt-at-step N    SIGINT after step N, as a Ctrl-C would
//   --kill-at-step N         SIGKILL after step N and its checkpoint (a crash: no handler runs)
//   --kill-rank R            with --kill-at-step: only MPI rank R (default: every rank)
//   --interrupt-at-startup   SIGINT once the data is loaded, while the model loads
// Every other argument goes to the train app unchanged. And from the environment, for the BLAS
// check at startup (core/machine/blas_startup.h), which a restart passes on:
//   ADAPTGRAD_BLAS_PRETEND_CHOSEN=<family>   OpenBLAS chose <family>, no OPENBLAS_CORETYPE set
//   ADAPTGRAD_BLAS_PRETEND_SELFTEST_FAIL=1   the self-test after the restart fails
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "apps/train/train_app.h"
#include "core/machine/blas_startup.h"

namespace {

class FaultInjector : public ag::apps::RunObserver {
 public:
  int64_t nan_at_step = 0, interrupt_at_step = 0, kill_at_step = 0, kill_rank = -1;
  bool interrupt_at_startup = false;

  void before_model_load() override {
    if (interrupt_at_startup) std::raise(SIGINT);
  }
  double batch_loss(int64_t step, double loss) override {
    return step == nan_at_step ? std::numeric_limits<double>::quiet_NaN() : loss;
  }
  void after_step(int64_t step) override {
    if (step == interrupt_at_step) std::raise(SIGINT);
  }
  void after_checkpoint(int64_t step, int rank) override {
    if (step == kill_at_step && (kill_rank < 0 || kill_rank == rank)) std::raise(SIGKILL);
  }
};

// The value of a numeric fault flag ("--flag N" or "--flag=N"); exits with a usage error.
int64_t number(const std::string& flag, const char* text) {
  char* end = nullptr;
  const long long value = text ? std::strtoll(text, &end, 10) : 0;
  if (!text || *text == '\0' || *end != '\0') {
    std::fprintf(stderr, "error: %s expects a whole number\n", flag.c_str());
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  // As start_app, with every argument: a restart sees the same flags and environment again.
  ag::BlasCheckPretence pretence;
  if (const char* chosen = std::getenv("ADAPTGRAD_BLAS_PRETEND_CHOSEN")) pretence.chosen = chosen;
  const char* fail = std::getenv("ADAPTGRAD_BLAS_PRETEND_SELFTEST_FAIL");
  pretence.self_test_fails = fail && std::string(fail) == "1";
  ag::check_blas_at_startup(argv, pretence);
  FaultInjector faults;
  const std::pair<const char*, int64_t*> numeric[] = {
      {"--nan-at-step", &faults.nan_at_step},
      {"--interrupt-at-step", &faults.interrupt_at_step},
      {"--kill-at-step", &faults.kill_at_step},
      {"--kill-rank", &faults.kill_rank}};
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    bool taken = false;
    for (auto& [flag, value] : numeric) {
      if (arg == flag) {
        *value = number(flag, i + 1 < argc ? argv[++i] : nullptr);
        taken = true;
      } else if (arg.rfind(std::string(flag) + "=", 0) == 0) {
        *value = number(flag, argv[i] + std::string(flag).size() + 1);
        taken = true;
      }
    }
    if (arg == "--interrupt-at-startup") faults.interrupt_at_startup = taken = true;
    if (!taken) rest.push_back(argv[i]);
  }
  rest.push_back(nullptr);
  return ag::apps::run_train_app(int(rest.size()) - 1, rest.data(), &faults);
}
