// The subcommands of `rcc`. Each add_*_command registers one CLI11 subcommand whose callback stores the
// process exit status in `exit_code`: 0 on success, 1 on a failure the command reports, 2 on usage errors.
#pragma once

#include <CLI/CLI.hpp>

namespace rcc::cli {

void add_replay_command(CLI::App& app, int& exit_code);
void add_simulate_command(CLI::App& app, int& exit_code);

}  // namespace rcc::cli
