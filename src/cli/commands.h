// The subcommands of `rcc`. Each add_*_command registers one CLI11 subcommand whose callback stores the
// process exit status in `exit_code`: 0 on success, 1 on a failure the command reports, 2 on usage errors.
#pragma once

#include <CLI/CLI.hpp>

#include "rcc/status.h"

namespace rcc::cli {

// The exit status of every command for a failure to configure or connect (region, endpoints,
// credentials): 2 for InvalidArgument (a usage problem: no or bad region, bad endpoint), 1 for anything
// else (no credentials, an unreadable profile file, ...).
int exit_code_for(const Status& status);

void add_replay_command(CLI::App& app, int& exit_code);
void add_table_command(CLI::App& app, int& exit_code);
void add_lambda_command(CLI::App& app, int& exit_code);
void add_simulate_command(CLI::App& app, int& exit_code);
void add_count_command(CLI::App& app, int& exit_code);
void add_inspect_command(CLI::App& app, int& exit_code);
void add_reconcile_command(CLI::App& app, int& exit_code);
void add_handle_command(CLI::App& app, int& exit_code);
void add_register_command(CLI::App& app, int& exit_code);
void add_slots_command(CLI::App& app, int& exit_code);

}  // namespace rcc::cli
