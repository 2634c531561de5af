#include "apps/common/app_util.h"

#include "apps/common/help_defaults.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>

#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/read_file.h"
#include "core/machine/blas_startup.h"
#include "core/machine/cpu_load.h"

namespace ag::apps {

namespace {

// std's "filesystem error: cannot create directories: Permission denied [runs/x]" as
// "runs/x: cannot create directories: Permission denied", like every other error.
std::string describe(const std::filesystem::filesystem_error& e) {
  std::string what = e.what();
  const std::string prefix = "filesystem error: ";
  if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
  for (const auto* path : {&e.path2(), &e.path1()}) {  // appended as " [path]", last one last
    const std::string suffix = " [" + path->string() + "]";
    if (!path->empty() && what.size() >= suffix.size() &&
        what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0)
      what.erase(what.size() - suffix.size());
  }
  std::string where = e.path1().string();
  if (!e.path2().empty()) where += " -> " + e.path2().string();
  return where.empty() ? what : where + ": " + what;
}

}  // namespace

void start_app(char** argv) {
  check_blas_at_startup(argv);
}

int run_guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory: the model, the batch (--batch-size x --max-length) or an "
                 "input needs more memory than this machine has"
              << std::endl;
  } catch (const std::exception& e) {
    const auto* fs_error = dynamic_cast<const std::filesystem::filesystem_error*>(&e);
    std::string message = fs_error ? describe(*fs_error) : e.what();
    for (char& c : message)
      if (c == '\n') c = ' ';  // one line, always
    std::cerr << "error: " << message << std::endl;
  } catch (...) {
    std::cerr << "error: unknown exception" << std::endl;
  }
  return 1;
}

std::optional<int> parse_arguments(CLI::App& app, int argc, char** argv) {
  show_defaults(app);  // every flag's default in --help
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    throw Error(e.what());
  }
  return std::nullopt;
}

void check_input_limits(const CLI::App& app, int64_t max_length, int64_t max_line_bytes) {
  if (app.count("--max-length") && max_length < 2)
    throw Error("--max-length must be at least 2 ([CLS] and [SEP]), got " +
                std::to_string(max_length));
  if (max_line_bytes <= 0) throw Error("--max-line-bytes must be positive");
}

void copy_file_atomically(const std::string& from, const std::string& to) {
  write_text_file_atomically(to, read_file(from, kTokenizerFile));
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double now_seconds() {
  return monotonic_seconds();
}

std::string format_duration(double seconds) {
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else {
    const int64_t s = int64_t(seconds + 0.5);
    if (s >= 3600)
      std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", long(s / 3600), long(s / 60 % 60),
                    long(s % 60));
    else
      std::snprintf(buf, sizeof buf, "%ldm%02lds", long(s / 60), long(s % 60));
  }
  return buf;
}

bool stderr_is_tty() {
  return isatty(STDERR_FILENO) == 1;
}

}  // namespace ag::apps
