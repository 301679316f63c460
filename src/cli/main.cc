// rcc: the runner-count-cache command line.
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/text.h"

namespace {

// The one-line summary of each command in `rcc --help`; `rcc <command> --help` gives the whole story.
const std::map<std::string, std::string, std::less<>> kSummaries = {
    {"simulate", "Simulate a fleet day: today's DescribeInstances per decision, the cache, and the cache with registration and slots"},
    {"replay", "Apply a JSON-lines file of EventBridge events and print the active counts"},
    {"count", "Count the active runners of one key, from the cache when fresh, else from EC2"},
    {"inspect", "Show the tracked instances and the meta item of a cache table"},
    {"reconcile", "Compare the table with EC2 once and repair the differences"},
    {"handle", "Apply one event from stdin, exactly as one Lambda invocation would"},
    {"register", "Record runners the scale-up just launched (launch registration)"},
    {"slots", "Take and release a key's slots: a hard per-key maximum for concurrent scale-ups"},
    {"table", "Create the cache table as the Terraform module does (local endpoints, tests)"},
    {"lambda", "Run the counter function's Lambda runtime loop (the packaged bootstrap runs the same loop)"},
};

class SummaryFormatter : public CLI::Formatter {
 public:
  std::string make_subcommand(const CLI::App* sub) const override {
    const auto it = kSummaries.find(sub->get_name());
    std::string summary = it != kSummaries.end() ? it->second : sub->get_description();
    summary = summary.substr(0, summary.find('\n'));
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true), summary, column_width_);
    return out.str();
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rcc: an event-driven count of active GitHub Actions runners on EC2, kept in DynamoDB.\n"
      "Run `rcc <command> --help` for the flags of each command."};
  app.require_subcommand(1);
  app.formatter(std::make_shared<SummaryFormatter>());
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
  rcc::cli::add_register_command(app, exit_code);
  rcc::cli::add_slots_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int printed = app.exit(e);
    return printed == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    // The last line of defence: no answer from a server may abort rcc; say what happened and fail.
    std::cerr << "rcc: internal error: " << rcc::valid_utf8(e.what()) << '\n';
    return 1;
  }
  return exit_code;
}
