// rcc lambda: the counter function's custom-runtime loop (the packaged `bootstrap` runs it too).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "rcc/aws_config.h"
#include "app/counter_function.h"
#include "rcc/deadline.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/env.h"
#include "rcc/http_client.h"
#include "lambda/lambda_runtime.h"
#include "app/log.h"
#include "app/metrics.h"
#include "core/tag_source.h"

namespace rcc::cli {
namespace {

constexpr std::string_view kInitErrorType = "InvalidConfiguration";

std::string variables_help() {
  std::string text =
      "Runs the Lambda custom-runtime loop of the counter function: takes invocations from the Runtime API\n"
      "(AWS_LAMBDA_RUNTIME_API), applies EC2 state-change events to the DynamoDB table, stamps the heartbeat\n"
      "and reconciles on schedule ticks. Configuration errors are posted to /runtime/init/error and the\n"
      "process exits 1; it also exits 1 when the Runtime API goes away (3 failed /next in a row; a single\n"
      "failure is asked again). Logs and EMF metrics go to stdout.\n\n"
      "The function's environment variables:\n";
  for (const FunctionVariable& v : function_variables()) {
    text += "  " + std::string(v.name) + "\n      " + std::string(v.description);
    text += v.required ? " Required." : " Default: " + std::string(v.default_value) + ".";
    text += "\n";
  }
  text +=
      "Set by Lambda or for local runs:\n"
      "  AWS_LAMBDA_RUNTIME_API\n      host:port of the Runtime API. Required.\n"
      "  AWS_REGION\n      Region of the table and of EC2. Required.\n"
      "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN\n      Credentials (the execution role's).\n"
      "  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_EC2\n"
      "      Endpoint overrides (local test servers).\n"
      "  _X_AMZN_TRACE_ID\n      Set by the loop to each invocation's Lambda-Runtime-Trace-Id.\n";
  return text;
}

// Reports a failure before the first invocation: to /init/error, and to stderr for a local run.
int init_failure(RuntimeClient& runtime, const FunctionError& error) {
  std::cerr << "rcc lambda: " << error.type << ": " << error.message << '\n';
  const Status posted = runtime.post_init_error(error);
  if (!posted.ok()) std::cerr << "rcc lambda: posting the init error failed: " << posted.to_string() << '\n';
  return 1;
}

}  // namespace

int run_lambda_loop() {
  Env* env = Env::Default();
  const std::optional<std::string> api = env->getenv("AWS_LAMBDA_RUNTIME_API");
  if (!api) {
    std::cerr << "rcc lambda: AWS_LAMBDA_RUNTIME_API is not set (this command runs inside AWS Lambda)\n";
    return 1;
  }
  // One client for everything: one keep-alive connection per endpoint (Runtime API, DynamoDB, EC2).
  auto http = std::make_shared<BeastHttpClient>();
  RuntimeClient runtime(*http, *api);

  auto config = config_from_env(*env);
  if (!config.ok()) return init_failure(runtime, {std::string(kInitErrorType), config.status().message()});
  auto aws = resolve_aws_config(*env, AwsOverrides{});
  if (!aws.ok()) return init_failure(runtime, {std::string(kInitErrorType), aws.status().message()});

  // Each invocation's deadline bounds every AWS call, EC2 lookup and reconcile (CounterFunction sets it).
  Deadline deadline;
  AwsClientOptions client_options;
  client_options.env = env;
  client_options.deadline = &deadline;
  DynamoStore store(AwsClient::for_service(http, *aws, AwsService::kDynamoDb, client_options),
                    DynamoStoreOptions{config->table_name});
  Ec2QueryClient ec2 = Ec2QueryClient::for_config(http, *aws, client_options);
  Ec2TagSource tags(ec2, Ec2TagSource::Options{}, env, &deadline);
  Logger log(config->log_level, stdout_log_sink());
  Metrics metrics(config->metrics_namespace, {{"Environment", join_environment_list(config->environments)}}, stdout_log_sink());
  CounterFunction function(*config, store, ec2, tags, log, metrics, env, &deadline);

  const Status ended = run_runtime_loop(
      runtime,
      [&](const Invocation& invocation) {
        return function.handle(invocation.request_id, invocation.payload, invocation.deadline_ms);
      },
      [&](const Status& failure) { log.warn("runtime /next failed, asking again", {{"error", failure.to_string()}}); });
  log.error("runtime loop ended", {{"error", ended.to_string()}});
  return 1;
}

bool invoked_as_bootstrap(int argc, char** argv) {
  if (argc != 1 || argv[0] == nullptr) return false;
  const std::string_view path(argv[0]);
  const auto slash = path.rfind('/');
  return (slash == std::string_view::npos ? path : path.substr(slash + 1)) == "bootstrap";
}

void add_lambda_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("lambda", "Run the counter function's Lambda runtime loop");
  cmd->footer(variables_help());
  auto print_env = std::make_shared<bool>(false);
  cmd->add_flag("--print-env", *print_env,
                "Print the names of the function's own environment variables, one per line, and exit");
  cmd->callback([&exit_code, print_env] {
    if (*print_env) {
      for (const FunctionVariable& v : function_variables()) std::cout << v.name << '\n';
      exit_code = 0;
      return;
    }
    exit_code = run_lambda_loop();
  });
}

}  // namespace rcc::cli
