// rcc handle: one EventBridge event from stdin (or a file) through the counter function's handler, the
// same code path as an invocation of the Lambda function, against the real table and EC2.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/cmd_cache_flags.h"
#include "cli/commands.h"
#include "app/counter_function.h"
#include "lambda/function.h"
#include "lambda/lambda_runtime.h"
#include "rcc/env.h"

namespace rcc::cli {
namespace {

struct HandleFlags {
  CacheFlags cache;
  std::int64_t ttl_seconds = 86400;
  std::string log_level = "info";
  std::string metrics_namespace = "RunnerCountCache";
  std::string lookup_unregistered = "true";
  std::string event = "-";
};

// The flags as the function's variables, so that the Lambda function's own parser validates them.
void set_function_variables(const HandleFlags& flags, VirtualEnv& variables) {
  variables.set_env("RUNNER_COUNT_CACHE_TABLE_NAME", flags.cache.table);
  variables.set_env("RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS", std::to_string(flags.cache.stale_threshold_ms));
  variables.set_env("ENVIRONMENT_FILTER", flags.cache.environment);
  variables.set_env("RECONCILE_INTERVAL_S", std::to_string(flags.cache.reconcile_interval_s));
  variables.set_env("TTL_SECONDS", std::to_string(flags.ttl_seconds));
  variables.set_env("LOG_LEVEL", flags.log_level);
  variables.set_env("METRICS_NAMESPACE", flags.metrics_namespace);
  variables.set_env("LOOKUP_UNREGISTERED", flags.lookup_unregistered);
}

int run_handle(const HandleFlags& flags) {
  VirtualEnv variables;
  set_function_variables(flags, variables);
  FunctionOptions options;
  options.variables = &variables;
  options.aws = flags.cache.aws;
  // Logs and metrics go to stderr, so stdout carries only the handler's response.
  options.sink = [](std::string_view line) { std::cerr << line << '\n'; };
  auto instance = make_counter_function(*Env::Default(), options);
  if (!instance.ok()) {
    std::cerr << "rcc handle: " << instance.status().message() << '\n';
    return exit_code_for(instance.status());
  }

  std::string payload;
  if (flags.event == "-") {
    payload.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(flags.event, std::ios::binary);
    if (!in) {
      std::cerr << "rcc handle: cannot open " << flags.event << '\n';
      return 2;
    }
    payload.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  CounterFunction& function = (*instance)->function();
  auto response = function.handle("rcc-handle", payload);
  if (!response.ok()) {
    const FunctionError error = function_error(response.status());
    std::cerr << "rcc handle: " << error.type << ": " << error.message << '\n';
    return 1;
  }
  std::cout << *response << '\n';
  return 0;
}

}  // namespace

void add_handle_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<HandleFlags>();
  CLI::App* cmd = app.add_subcommand(
      "handle",
      "Apply one EventBridge event (read from stdin, or --event FILE) through the counter function's\n"
      "handler, the same code path as one Lambda invocation: an EC2 state change is applied to the table\n"
      "(tags looked up in EC2 for an instance the table does not know), a Scheduled Event stamps the\n"
      "heartbeat and reconciles when due, anything else is acknowledged as ignored. Prints the handler's\n"
      "JSON response on stdout; logs and metrics go to stderr. Exit 0 when handled, 1 when the handler\n"
      "failed (the Lambda function would fail the invocation so that it is retried), 2 on usage errors.");
  add_cache_flags(cmd, flags->cache, /*environment_required=*/true, CacheFlagSet::kWithFreshness);
  cmd->add_option("--ttl-seconds", flags->ttl_seconds, "TTL of inactive and non-runner items (TTL_SECONDS)")
      ->envname("TTL_SECONDS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn or error (LOG_LEVEL)")
      ->envname("LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  cmd->add_option("--metrics-namespace", flags->metrics_namespace, "CloudWatch EMF namespace (METRICS_NAMESPACE)")
      ->envname("METRICS_NAMESPACE")
      ->capture_default_str();
  cmd->add_option("--lookup-unregistered", flags->lookup_unregistered,
                  "true: look up in EC2 an instance nobody registered; false: record it unresolved without a "
                  "request (LOOKUP_UNREGISTERED)")
      ->envname("LOOKUP_UNREGISTERED")
      ->check(CLI::IsMember({"true", "false"}))
      ->capture_default_str();
  cmd->add_option("--event", flags->event, "File holding the event JSON, or - for stdin")->capture_default_str();
  cmd->callback([flags, &exit_code] { exit_code = run_handle(*flags); });
}

}  // namespace rcc::cli
