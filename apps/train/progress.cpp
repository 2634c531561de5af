#include "apps/train/progress.h"

#include <cstdio>
#include <iostream>

#include "apps/common/app_util.h"

namespace ag::apps {

Progress::Progress(bool tty, int64_t log_every, int64_t total_steps, int64_t first_step)
    : tty_(tty),
      log_every_(log_every > 0 ? log_every : 1),
      total_steps_(total_steps),
      first_step_(first_step),
      start_(now_seconds()) {}

double Progress::examples_per_second() const {
  const double dt = now_seconds() - start_;
  return dt > 0 ? double(examples_) / dt : 0.0;
}

void Progress::update(int64_t step, int64_t epoch, int64_t epochs, int64_t batch, int64_t batches,
                      double loss, double lr, int64_t examples_this_step) {
  examples_ += examples_this_step;
  smoothed_loss_ = smoothed_loss_ < 0 ? loss : 0.9 * smoothed_loss_ + 0.1 * loss;
  const double now = now_seconds();
  const double per_step = (now - start_) / double(std::max<int64_t>(1, step - first_step_));
  const std::string eta = format_duration(per_step * double(total_steps_ - step));
  char line[256];
  if (tty_) {
    if (now - last_draw_ < 0.2 && step != total_steps_ && batch != batches) return;
    last_draw_ = now;
    const int width = 24;
    const int filled = int(double(width) * double(batch) / double(std::max<int64_t>(1, batches)));
    std::string bar(size_t(filled), '#');
    bar.resize(size_t(width), '.');
    std::snprintf(line, sizeof line,
                  "\r\033[Kepoch %ld/%ld |%s| %ld/%ld  loss %.4f  lr %.2e  %.1f ex/s  ETA %s",
                  long(epoch + 1), long(epochs), bar.c_str(), long(batch), long(batches),
                  smoothed_loss_, lr, examples_per_second(), eta.c_str());
    std::cerr << line << std::flush;
    bar_visible_ = true;
    return;
  }
  if (step % log_every_ != 0 && step != total_steps_) return;
  std::snprintf(line, sizeof line,
                "step %ld/%ld  epoch %ld/%ld  batch %ld/%ld  loss %.4f  lr %.2e  %.1f ex/s  ETA %s",
                long(step), long(total_steps_), long(epoch + 1), long(epochs), long(batch),
                long(batches), smoothed_loss_, lr, examples_per_second(), eta.c_str());
  std::cout << line << std::endl;
}

void Progress::clear() {
  if (!bar_visible_) return;
  std::cerr << "\r\033[K" << std::flush;
  bar_visible_ = false;
}

void Progress::print(const std::string& line) {
  clear();
  std::cout << line << std::endl;
}

}  // namespace ag::apps
