#include "apps/common/app_util.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/blas_startup.h"
#include "core/errors.h"

namespace ag::apps {

void start_app(char** argv) {
  check_blas_at_startup(argv);
}

int run_guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::string message = e.what();
    for (char& c : message)
      if (c == '\n') c = ' ';  // one line, always
    std::cerr << "error: " << message << std::endl;
  } catch (...) {
    std::cerr << "error: unknown exception" << std::endl;
  }
  return 1;
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
  return std::nullopt;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return ss.str();
}

void copy_file_atomically(const std::string& from, const std::string& to) {
  write_text_file_atomically(to, read_file(from));
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
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
