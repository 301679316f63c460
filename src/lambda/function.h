// The counter function as a program: the one place that builds a CounterFunction and everything it uses
// (DynamoStore, EC2 client, tag source, logger, metrics, the Deadline their clients share) from an Env,
// and the Lambda entry point that serves it under the Runtime API. The packaged `bootstrap`, `rcc lambda`
// and `rcc handle` all build the function here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "app/counter_function.h"
#include "app/log.h"
#include "app/metrics.h"
#include "core/tag_source.h"
#include "rcc/aws_config.h"
#include "rcc/deadline.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/env.h"
#include "rcc/http.h"
#include "rcc/status.h"

namespace rcc {

// What make_counter_function takes besides its Env.
struct FunctionOptions {
  // The Env the function's own variables (function_variables()) are read from; null: the Env given to
  // make_counter_function. `rcc handle` passes its flags here.
  Env* variables = nullptr;
  // Region, profile and endpoints given on a command line; they win over the Env's AWS variables.
  AwsOverrides aws;
  // Where the log lines and the EMF metrics line go; null: stdout (what Lambda collects).
  LogSink sink;
  // The HTTP client of both AWS clients (one keep-alive connection per endpoint); null: a new
  // BeastHttpClient. Must not be used by another thread while the function runs.
  std::shared_ptr<HttpClient> http;
};

// One counter function with everything it uses, built together by make_counter_function and owned
// together (its parts refer to each other, so it stays where it was built). Thread-compatible, as
// CounterFunction.
class FunctionInstance {
 public:
  FunctionInstance(const FunctionInstance&) = delete;
  FunctionInstance& operator=(const FunctionInstance&) = delete;

  CounterFunction& function() { return function_; }
  Logger& log() { return log_; }

 private:
  friend Result<std::unique_ptr<FunctionInstance>> make_counter_function(Env& env, const FunctionOptions& options);
  FunctionInstance(Env& env, CounterFunctionConfig config, const AwsConfig& aws, const FunctionOptions& options);

  std::shared_ptr<HttpClient> http_;
  // Set by CounterFunction::handle for each invocation; bounds every DynamoDB and EC2 call, the tag
  // lookup's retries and reconcile.
  Deadline deadline_;
  DynamoStore store_;
  Ec2QueryClient ec2_;
  Ec2TagSource tags_;
  Logger log_;
  Metrics metrics_;
  CounterFunction function_;
};

// Builds the counter function: its configuration from the function's variables (config_from_env of
// options.variables, else of `env`), region, endpoints and credentials from `env` and options.aws
// (resolve_aws_config), time, sleeps and jitter from `env`. `env` must outlive the result. Returns
// InvalidArgument naming the variable or value at fault (a missing table name, a bad region or endpoint),
// or PermissionDenied when no credentials are found.
Result<std::unique_ptr<FunctionInstance>> make_counter_function(Env& env, const FunctionOptions& options = {});

// The help text of the Lambda entry point: what it does, the function's variables (with their defaults)
// and the variables Lambda sets.
std::string lambda_function_help();

// The Lambda custom runtime: reads AWS_LAMBDA_RUNTIME_API from `env`, builds the function with
// make_counter_function(env) and serves invocations with run_runtime_loop until the Runtime API goes away.
// A configuration error is posted to /runtime/init/error. `program` prefixes the lines written to stderr.
// Returns the process's exit status: always 1 (the loop only ends on failure; Lambda then restarts it).
int run_lambda_function(Env& env, std::string_view program);

}  // namespace rcc
