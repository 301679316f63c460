#include "cli/cmd_cache_flags.h"

#include <chrono>

#include "cli/aws_options.h"
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
  add_table_option(cmd, flags.table)->required();
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
  add_aws_options(cmd, flags.aws);
}

Result<std::unique_ptr<AwsHandles>> connect_aws(const CacheFlags& flags) {
  auto config = resolve_aws_options(flags.aws);
  if (!config.ok()) return config.status();
  auto handles = std::make_unique<AwsHandles>();
  handles->config = *config;
  handles->store = make_dynamo_store(*config, flags.table);
  handles->meta_store = make_dynamo_store(*config, flags.table);
  handles->ec2 = std::make_unique<Ec2QueryClient>(
      Ec2QueryClient::for_config(std::make_shared<BeastHttpClient>(), *config));
  return handles;
}

}  // namespace rcc::cli
