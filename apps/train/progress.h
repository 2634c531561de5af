// Training progress: a one-line bar redrawn in place when stderr is a terminal, plain log
// lines every `log_every` steps otherwise (files, CI logs, pipes).
#pragma once

#include <cstdint>
#include <string>

namespace ag::apps {

class Progress {
 public:
  // `total_steps`: optimizer steps of the whole run; `first_step`: where this session starts
  // (a resumed run), so examples/s and the ETA count only this session's work.
  Progress(bool tty, int64_t log_every, int64_t total_steps, int64_t first_step);

  // After each optimizer step. `loss` is the step's mean training loss.
  void update(int64_t step, int64_t epoch, int64_t epochs, int64_t batch, int64_t batches,
              double loss, double lr, int64_t examples_this_step);
  // Prints a line to stdout, clearing the bar first when there is one.
  void print(const std::string& line);
  void clear();  // removes the bar (before other output)
  double examples_per_second() const;
  // Leaves `seconds` (an evaluation, a checkpoint) out of examples/s and the ETA.
  void exclude(double seconds) { start_ += seconds; }

 private:
  bool tty_;
  int64_t log_every_, total_steps_, first_step_;
  double start_, last_draw_ = 0;
  int64_t examples_ = 0;
  double smoothed_loss_ = -1;
  bool bar_visible_ = false;
};

}  // namespace ag::apps
