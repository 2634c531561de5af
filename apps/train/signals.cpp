#include "apps/train/signals.h"

#include <csignal>
#include <initializer_list>

namespace ag::apps {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process immediately
  // After a hang-up the terminal (or the pipe to a `tee` that hung up too) is gone: a progress
  // line written there must fail quietly, not kill the process before its checkpoint.
  if (sig == SIGHUP) std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
}

bool stop_requested() {
  return g_signal != 0;
}
int stop_signal() {
  return int(g_signal);
}

}  // namespace ag::apps
