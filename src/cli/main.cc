// rcc: the runner-count-cache command line.
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  if (rcc::cli::invoked_as_bootstrap(argc, argv)) return rcc::cli::run_lambda_loop();
  CLI::App app{
      "rcc: an event-driven count of active GitHub Actions runners on EC2, kept in DynamoDB.\n"
      "Run `rcc <command> --help` for the flags of each command."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rcc 0.1.0");

  int exit_code = 0;
  rcc::cli::add_replay_command(app, exit_code);
  rcc::cli::add_table_command(app, exit_code);
  rcc::cli::add_lambda_command(app, exit_code);
  rcc::cli::add_simulate_command(app, exit_code);
  rcc::cli::add_count_command(app, exit_code);
  rcc::cli::add_inspect_command(app, exit_code);
  rcc::cli::add_reconcile_command(app, exit_code);
  rcc::cli::add_handle_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int printed = app.exit(e);
    return printed == 0 ? 0 : 2;
  }
  return exit_code;
}
