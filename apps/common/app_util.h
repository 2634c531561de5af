// Small helpers shared by the apps: the one-line error convention, files, time and memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace ag::apps {

// The first call of every app's main(), before MPI_Init and before any thread: may restart the
// program once with better BLAS kernels or OpenMP wait policy (core/machine/blas_startup.h).
void start_app(char** argv);

// Runs `body` and turns any exception into one line "error: ..." on stderr and exit code 1
// (std::bad_alloc as "out of memory: ...", std::filesystem errors as "path: what"). Returns
// body's exit code otherwise.
int run_guarded(const std::function<int()>& body);

// Parses the command line with CLI11; call it first inside run_guarded. Returns 0 after printing
// --help (the program should stop now), nothing when the arguments are fine; a bad flag throws
// ag::Error with CLI11's one-line message, which run_guarded prints as "error: ..." (exit 1).
std::optional<int> parse_arguments(CLI::App& app, int argc, char** argv);

// The input limits of the apps that read texts (predict, hidden_states): --max-length, when
// given, must leave room for [CLS] and [SEP]; --max-line-bytes must be positive.
void check_input_limits(const CLI::App& app, int64_t max_length, int64_t max_line_bytes);

// Copies `from` to `to` atomically (temporary file + rename).
void copy_file_atomically(const std::string& from, const std::string& to);

// Peak resident set size of this process so far, in MiB (getrusage).
double peak_rss_mib();
// Monotonic seconds since an arbitrary origin.
double now_seconds();
// "1h02m03s", "4m05s", "12.3s".
std::string format_duration(double seconds);
// True when stderr is a terminal (progress bar instead of log lines).
bool stderr_is_tty();

}  // namespace ag::apps
