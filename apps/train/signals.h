// Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal went away: a dropped SSH session) during
// training: the first one only sets a flag, which the training loop reads after each optimizer
// step to write a checkpoint and stop; a second one kills the process at once (the handler
// restores the default action).
#pragma once

namespace ag::apps {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked to stop (SIGINT, SIGTERM or SIGHUP), 0 if none

}  // namespace ag::apps
