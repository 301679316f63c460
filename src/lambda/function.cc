#include "lambda/function.h"

#include <iostream>
#include <optional>
#include <utility>

#include "lambda/lambda_runtime.h"
#include "rcc/http_client.h"

namespace rcc {
namespace {

constexpr std::string_view kInitErrorType = "InvalidConfiguration";

AwsClientOptions client_options(Env& env, const Deadline& deadline) {
  AwsClientOptions options;
  options.env = &env;
  options.deadline = &deadline;
  return options;
}

// Reports a failure before the first invocation: to /init/error, and to stderr for a local run.
int init_failure(RuntimeClient& runtime, std::string_view program, const FunctionError& error) {
  std::cerr << program << ": " << error.type << ": " << error.message << '\n';
  const Status posted = runtime.post_init_error(error);
  if (!posted.ok()) std::cerr << program << ": posting the init error failed: " << posted.to_string() << '\n';
  return 1;
}

}  // namespace

FunctionInstance::FunctionInstance(Env& env, CounterFunctionConfig config, const AwsConfig& aws,
                                   const FunctionOptions& options)
    : http_(options.http ? options.http : std::make_shared<BeastHttpClient>()),
      store_(AwsClient::for_service(http_, aws, AwsService::kDynamoDb, client_options(env, deadline_)),
             DynamoStoreOptions{config.table_name}),
      ec2_(Ec2QueryClient::for_config(http_, aws, client_options(env, deadline_))),
      tags_(ec2_, Ec2TagSource::Options{}, &env, &deadline_),
      log_(config.log_level, options.sink ? options.sink : stdout_log_sink()),
      metrics_(config.metrics_namespace, {{"Environment", join_environment_list(config.environments)}},
               options.sink ? options.sink : stdout_log_sink()),
      function_(std::move(config), store_, ec2_, tags_, log_, metrics_, &env, &deadline_) {}

Result<std::unique_ptr<FunctionInstance>> make_counter_function(Env& env, const FunctionOptions& options) {
  auto config = config_from_env(options.variables != nullptr ? *options.variables : env);
  if (!config.ok()) return config.status();
  auto aws = resolve_aws_config(env, options.aws);
  if (!aws.ok()) return aws.status();
  return std::unique_ptr<FunctionInstance>(new FunctionInstance(env, std::move(*config), *aws, options));
}

std::string lambda_function_help() {
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

int run_lambda_function(Env& env, std::string_view program) {
  const std::optional<std::string> api = env.getenv("AWS_LAMBDA_RUNTIME_API");
  if (!api) {
    std::cerr << program << ": AWS_LAMBDA_RUNTIME_API is not set (this program runs inside AWS Lambda)\n";
    return 1;
  }
  // One client for everything: one keep-alive connection per endpoint (Runtime API, DynamoDB, EC2).
  auto http = std::make_shared<BeastHttpClient>();
  RuntimeClient runtime(*http, *api);

  FunctionOptions options;
  options.http = http;
  auto instance = make_counter_function(env, options);
  if (!instance.ok()) {
    return init_failure(runtime, program, {std::string(kInitErrorType), instance.status().message()});
  }
  CounterFunction& function = (*instance)->function();
  Logger& log = (*instance)->log();
  const Status ended = run_runtime_loop(
      runtime,
      [&](const Invocation& invocation) {
        return function.handle(invocation.request_id, invocation.payload, invocation.deadline_ms);
      },
      [&](const Status& failure) { log.warn("runtime /next failed, asking again", {{"error", failure.to_string()}}); },
      &env);
  log.error("runtime loop ended", {{"error", ended.to_string()}});
  return 1;
}

}  // namespace rcc
