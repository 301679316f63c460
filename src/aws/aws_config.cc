#include "rcc/aws_config.h"

#include "rcc/http_client.h"

namespace rcc {
namespace {

bool is_region_name(std::string_view region) {
  if (region.empty()) return false;
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string_view service_name(AwsService service) {
  return service == AwsService::kDynamoDb ? "dynamodb" : "ec2";
}

Result<std::string> resolve_region(Env& env, std::string_view profile, std::string_view override_region) {
  std::string region;
  std::string source;
  if (!override_region.empty()) {
    region = std::string(override_region);
    source = "--region";
  } else if (auto value = env.getenv("AWS_REGION")) {
    region = *value;
    source = "AWS_REGION";
  } else if (auto value = env.getenv("AWS_DEFAULT_REGION")) {
    region = *value;
    source = "AWS_DEFAULT_REGION";
  } else {
    const std::string name = effective_profile(env, profile);
    auto settings = load_profile(env, name);
    if (settings.ok()) {
      if (auto it = settings->find("region"); it != settings->end()) {
        region = it->second;
        source = "profile " + name;
      }
    } else if (settings.status().code() != Code::kNotFound) {
      return settings.status();
    }
  }
  if (region.empty()) {
    return Status::InvalidArgument("no AWS region: set --region, AWS_REGION, AWS_DEFAULT_REGION or the profile's region");
  }
  if (!is_region_name(region)) return Status::InvalidArgument("invalid region '" + region + "' from " + source);
  return region;
}

std::string default_endpoint(AwsService service, std::string_view region) {
  const std::string_view domain = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://" + std::string(service_name(service)) + "." + std::string(region) + "." + std::string(domain);
}

Result<std::string> resolve_endpoint(Env& env, AwsService service, std::string_view region,
                                     const AwsOverrides& overrides) {
  const std::string& specific =
      service == AwsService::kDynamoDb ? overrides.dynamodb_endpoint_url : overrides.ec2_endpoint_url;
  const char* variable = service == AwsService::kDynamoDb ? "AWS_ENDPOINT_URL_DYNAMODB" : "AWS_ENDPOINT_URL_EC2";
  std::string url;
  if (!specific.empty()) {
    url = specific;
  } else if (!overrides.endpoint_url.empty()) {
    url = overrides.endpoint_url;
  } else if (auto value = env.getenv(variable)) {
    url = *value;
  } else if (auto any = env.getenv("AWS_ENDPOINT_URL")) {
    url = *any;
  } else {
    return default_endpoint(service, region);
  }
  while (url.ends_with('/')) url.pop_back();
  auto parsed = parse_url(url);
  if (!parsed.ok()) return parsed.status().with_context("endpoint");
  if (parsed->target != "/") {
    return Status::InvalidArgument("endpoint must not have a path: " + url);
  }
  return url;
}

Result<AwsConfig> resolve_aws_config(Env& env, const AwsOverrides& overrides) {
  AwsConfig config;
  config.profile = effective_profile(env, overrides.profile);
  auto region = resolve_region(env, config.profile, overrides.region);
  if (!region.ok()) return region.status();
  config.region = *region;
  auto dynamodb = resolve_endpoint(env, AwsService::kDynamoDb, config.region, overrides);
  if (!dynamodb.ok()) return dynamodb.status().with_context("DynamoDB");
  config.dynamodb_endpoint = *dynamodb;
  auto ec2 = resolve_endpoint(env, AwsService::kEc2, config.region, overrides);
  if (!ec2.ok()) return ec2.status().with_context("EC2");
  config.ec2_endpoint = *ec2;
  auto credentials = resolve_credentials(env, config.profile);
  if (!credentials.ok()) return credentials.status();
  config.credentials = *credentials;
  return config;
}

}  // namespace rcc
