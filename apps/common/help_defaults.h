// Every flag's default in --help, for every app (and tools/tokenize).
//
// CLI11 prints an option's default ("--lr FLOAT=0.0005") only when it was captured
// (capture_default_str), and keeps none for a flag (an option without a value, like --bucket):
// show_defaults() captures every option's, and gives each flag the default flag_default()
// recorded ("--train-head=true"), or false. Call it after the options are added and before
// parsing, while the bound variables still hold their defaults.
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
    opt->capture_default_str();
    const bool flag = opt->get_expected_max() == 0;                         // takes no value
    if (flag && opt->get_default_str().empty()) opt->default_str("false");  // off unless given
    // CLI11 prints "=DEFAULT" after an option with a type; say it in words for one without.
    if (opt->get_type_size() == 0 && opt->get_option_text().empty())
      opt->option_text("[default: " + opt->get_default_str() + "]");
  }
}

}  // namespace ag::apps
