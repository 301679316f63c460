#include "cmd_cache_flags.h"

#include <chrono>

#include "rcc/credentials.h"
#include "rcc/http_client.h"

namespace rcc::cli {

Result<ReaderOptions> CacheFlags::reader_options() const {
  ReaderOptions options;
  options.stale_threshold_ms = stale_threshold_ms;
  if (reconcile_interval_s <= 0) return Status::InvalidArgument("--reconcile-interval-s must be > 0");
  options.reconcile_interval_ms = reconcile_interval_s * 1000;
  if (Status s = validate_reader_options(options); !s.ok()) return s;
  return options;
}

void add_cache_flags(CLI::App* cmd, CacheFlags& flags, bool environment_required, CacheFlagSet set) {
  cmd->add_option("--table", flags.table, "The cache table (RUNNER_COUNT_CACHE_TABLE_NAME)")
      ->required()
      ->envname("RUNNER_COUNT_CACHE_TABLE_NAME");
  auto* environment = cmd->add_option("--environment", flags.environment,
                                      "The runners' ghr:environment tag (ENVIRONMENT_FILTER)")
                          ->envname("ENVIRONMENT_FILTER");
  if (environment_required) environment->required();
  if (set == CacheFlagSet::kWithFreshness) {
    cmd->add_option("--stale-threshold-ms", flags.stale_threshold_ms,
                    "The cache is stale when its heartbeat is older than this "
                    "(RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS)")
        ->envname("RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--reconcile-interval-s", flags.reconcile_interval_s,
                    "The reconcile period; the cache is stale when no reconcile finished within 3 x this "
                    "(RECONCILE_INTERVAL_S)")
        ->envname("RECONCILE_INTERVAL_S")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  }
  cmd->add_option("--region", flags.aws.region, "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile)");
  cmd->add_option("--profile", flags.aws.profile, "Shared config/credentials profile (else AWS_PROFILE)");
  cmd->add_option("--endpoint-url", flags.aws.endpoint_url,
                  "Endpoint for both DynamoDB and EC2, e.g. http://127.0.0.1:8000 (else AWS_ENDPOINT_URL_DYNAMODB "
                  "/ AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL)");
}

Result<std::unique_ptr<AwsHandles>> connect_aws(const CacheFlags& flags) {
  auto config = resolve_aws_config(process_env(), flags.aws);
  if (!config.ok()) return config.status();
  auto handles = std::make_unique<AwsHandles>();
  handles->config = *config;
  const DynamoStoreOptions store_options{flags.table};
  handles->store = std::make_unique<DynamoStore>(
      AwsClient::for_service(std::make_shared<BeastHttpClient>(), *config, AwsService::kDynamoDb), store_options);
  handles->meta_store = std::make_unique<DynamoStore>(
      AwsClient::for_service(std::make_shared<BeastHttpClient>(), *config, AwsService::kDynamoDb), store_options);
  handles->ec2 = std::make_unique<Ec2QueryClient>(
      Ec2QueryClient::for_config(std::make_shared<BeastHttpClient>(), *config));
  return handles;
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rcc::cli
