// Every flag's default in --help, for every app (and tools/tokenize).
//
// CLI11 prints an option's default only when it was captured (capture_default_str), and never
// for a flag (an option without a value, like --bucket): show_defaults() captures every
// option's and writes each flag's into its help line, "[default: true]". Call it after the
// options are added and before parsing, while the bound variables still hold their defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace ag::apps {

// The default of a flag bound to a bool, for show_defaults() to print ("true", "false").
inline CLI::Option* flag_default(CLI::Option* flag, bool value) {
  return flag->default_str(value ? "true" : "false");
}

inline void show_defaults(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt == app.get_help_ptr() || opt == app.get_help_all_ptr()) continue;
    if (opt->get_type_size() != 0) {  // an option with a value: CLI11 prints "=DEFAULT"
      opt->capture_default_str();
      continue;
    }
    // A flag: off unless given, or the default flag_default() recorded (--train-head: true).
    if (!opt->get_option_text().empty()) continue;
    const std::string value = opt->get_default_str().empty() ? "false" : opt->get_default_str();
    opt->option_text("[default: " + value + "]");
  }
}

}  // namespace ag::apps
