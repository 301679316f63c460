// Region, endpoints and credentials of the AWS services the project calls, resolved from flags, the
// environment and the shared config files (see rcc/credentials.h for the files).
#pragma once

#include <string>
#include <string_view>

#include "rcc/credentials.h"
#include "rcc/status.h"

namespace rcc {

enum class AwsService { kDynamoDb, kEc2 };

// "dynamodb" / "ec2": the signing name and the endpoint prefix.
std::string_view service_name(AwsService service);

// What the command line may override; "" means not given.
struct AwsOverrides {
  std::string profile;
  std::string region;
  std::string endpoint_url;           // every service (above AWS_ENDPOINT_URL_*)
  std::string dynamodb_endpoint_url;  // DynamoDB only (above endpoint_url)
  std::string ec2_endpoint_url;       // EC2 only (above endpoint_url)
};

// Everything needed to sign and send to AWS.
struct AwsConfig {
  std::string profile;  // the profile in effect
  std::string region;
  AwsCredentials credentials;
  std::string dynamodb_endpoint;  // e.g. "https://dynamodb.us-east-1.amazonaws.com" or "http://127.0.0.1:8000"
  std::string ec2_endpoint;

  const std::string& endpoint(AwsService service) const {
    return service == AwsService::kDynamoDb ? dynamodb_endpoint : ec2_endpoint;
  }
};

// The region: `override_region`, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`.
// Returns InvalidArgument when none is set or the value is not a region name ([a-z0-9-]+).
Result<std::string> resolve_region(Env& env, std::string_view profile, std::string_view override_region);

// The regional endpoint: https://<service>.<region>.amazonaws.com, or .amazonaws.com.cn for cn-* regions.
std::string default_endpoint(AwsService service, std::string_view region);

// The endpoint of `service`: the service-specific override, else overrides.endpoint_url, else
// AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL, else default_endpoint().
// A trailing '/' is removed. Returns InvalidArgument when the chosen value is not an http(s) URL.
Result<std::string> resolve_endpoint(Env& env, AwsService service, std::string_view region,
                                     const AwsOverrides& overrides);

// Region, both endpoints and credentials; the first failure is returned with context.
Result<AwsConfig> resolve_aws_config(Env& env, const AwsOverrides& overrides);

}  // namespace rcc
