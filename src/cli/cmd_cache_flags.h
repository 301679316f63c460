// Flags and connections shared by the commands that read or repair a cache table: count, inspect,
// reconcile. Flags mirror the function's environment variables (README) and fall back to them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "rcc/aws_config.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/reader.h"
#include "rcc/status.h"

namespace rcc::cli {

struct CacheFlags {
  std::string table;                        // RUNNER_COUNT_CACHE_TABLE_NAME
  std::string environment;                  // ENVIRONMENT_FILTER
  std::int64_t stale_threshold_ms = 60000;  // RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS
  std::int64_t reconcile_interval_s = 300;  // RECONCILE_INTERVAL_S
  AwsOverrides aws;                         // --region, --profile, --endpoint-url

  // The reader's options from these flags; InvalidArgument naming the flag when one is out of range.
  Result<ReaderOptions> reader_options() const;
};

enum class CacheFlagSet {
  kTableOnly,       // --table, --environment and the AWS flags
  kWithFreshness,   // the same plus --stale-threshold-ms and --reconcile-interval-s
};

// Registers the flags on `cmd`, bound to `flags`.
void add_cache_flags(CLI::App* cmd, CacheFlags& flags, bool environment_required,
                     CacheFlagSet set = CacheFlagSet::kWithFreshness);

// Two handles on the table (one per thread, so the reader's two reads go out together) and an EC2 client,
// each with its own HTTP connection.
struct AwsHandles {
  AwsConfig config;
  std::unique_ptr<DynamoStore> store;
  std::unique_ptr<DynamoStore> meta_store;
  std::unique_ptr<Ec2QueryClient> ec2;
};

// Resolves region, endpoints and credentials from the flags and the environment and builds the handles.
// InvalidArgument for a bad region or endpoint, PermissionDenied when no credentials are found.
Result<std::unique_ptr<AwsHandles>> connect_aws(const CacheFlags& flags);

}  // namespace rcc::cli
