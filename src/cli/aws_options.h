// Command-line flags shared by every command that talks to AWS, and the clients built from them.
//
//   --region        AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's region)
//   --profile       shared config/credentials profile (else AWS_PROFILE, else "default")
//   --endpoint-url  endpoint for every service (else AWS_ENDPOINT_URL_DYNAMODB/_EC2, AWS_ENDPOINT_URL)
//   --table         the cache table (else RUNNER_COUNT_CACHE_TABLE_NAME)
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "rcc/aws_config.h"
#include "rcc/aws_request.h"
#include "rcc/dynamo_store.h"
#include "rcc/status.h"

namespace rcc::cli {

// Registers --region, --profile and --endpoint-url on `cmd`, bound to `overrides`.
void add_aws_options(CLI::App* cmd, AwsOverrides& overrides);

// Registers --table on `cmd`, bound to `table`, defaulting to RUNNER_COUNT_CACHE_TABLE_NAME.
CLI::Option* add_table_option(CLI::App* cmd, std::string& table);

// Region, endpoints and credentials from the flags and the process environment.
Result<AwsConfig> resolve_aws_options(const AwsOverrides& overrides);

// A DynamoDB client with its own keep-alive HTTP connection (one per thread).
AwsClient make_dynamodb_client(const AwsConfig& config);

// A DynamoStore on `table` with its own client.
std::unique_ptr<DynamoStore> make_dynamo_store(const AwsConfig& config, const std::string& table);

}  // namespace rcc::cli
