#include "cli/aws_options.h"

#include "cli/commands.h"
#include "rcc/credentials.h"
#include "rcc/env.h"
#include "rcc/http_client.h"

namespace rcc::cli {

void add_aws_options(CLI::App* cmd, AwsOverrides& overrides) {
  cmd->add_option("--region", overrides.region, "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's)");
  cmd->add_option("--profile", overrides.profile,
                  "Profile of the shared config and credentials files, static keys only (else AWS_PROFILE)");
  cmd->add_option("--endpoint-url", overrides.endpoint_url,
                  "Endpoint for every AWS service, e.g. http://127.0.0.1:8000 for a local DynamoDB (else "
                  "AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, the regional endpoint)");
}

CLI::Option* add_table_option(CLI::App* cmd, std::string& table) {
  return cmd->add_option("--table", table, "The cache table (RUNNER_COUNT_CACHE_TABLE_NAME)")
      ->envname("RUNNER_COUNT_CACHE_TABLE_NAME");
}

int exit_code_for(const Status& status) { return status.code() == Code::kInvalidArgument ? 2 : 1; }

Result<AwsConfig> resolve_aws_options(const AwsOverrides& overrides) {
  return resolve_aws_config(*Env::Default(), overrides);
}

AwsClient make_dynamodb_client(const AwsConfig& config) {
  return AwsClient::for_service(std::make_shared<BeastHttpClient>(), config, AwsService::kDynamoDb);
}

std::unique_ptr<DynamoStore> make_dynamo_store(const AwsConfig& config, const std::string& table) {
  return std::make_unique<DynamoStore>(make_dynamodb_client(config), DynamoStoreOptions{table});
}

}  // namespace rcc::cli
