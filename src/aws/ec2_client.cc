#include "rcc/ec2_client.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "aws/ec2_query.h"
#include "core/text.h"

namespace rcc {
namespace {

// A scan stops after this many pages: at 1000 instances a page that is ten million instances, far beyond
// any account, so reaching it means the server keeps inventing tokens.
constexpr int kMaxPages = 10000;

ServiceError parse_ec2_error(const HttpResponse& response) {
  ServiceError error;
  error.http_status = response.status;
  Result<ec2_query::Ec2Error> parsed = ec2_query::parse_error(response.body);
  if (parsed.ok()) {
    error.code = parsed->code;
    error.message = parsed->message;
  } else {
    error.message = utf8_excerpt(response.body, kExcerptBytes);
  }
  error.status = ec2_query::error_status(response.status, response.body);
  return error;
}

}  // namespace

Ec2QueryClient::Ec2QueryClient(AwsClient aws) : Ec2QueryClient(std::move(aws), Options{}) {}

Ec2QueryClient::Ec2QueryClient(AwsClient aws, Options options) : aws_(std::move(aws)), options_(options) {
  options_.max_results = std::clamp(options_.max_results, 5, ec2_query::kMaxResults);
}

Ec2QueryClient Ec2QueryClient::for_config(std::shared_ptr<HttpClient> http, const AwsConfig& config,
                                          AwsClientOptions aws_options, Options options) {
  return Ec2QueryClient(AwsClient::for_service(std::move(http), config, AwsService::kEc2, std::move(aws_options)),
                        options);
}

Result<HttpResponse> Ec2QueryClient::post(std::string body) {
  static const HttpHeaders kHeaders = {{"Content-Type", std::string(ec2_query::kContentType)}};
  return aws_.post(kHeaders, std::move(body), parse_ec2_error);
}

Result<Ec2Instance> Ec2QueryClient::describe_instance(std::string_view instance_id) {
  Result<HttpResponse> response = post(ec2_query::describe_instance_body(instance_id));
  if (!response.ok()) return response.status();
  Result<ec2_query::DescribeInstancesPage> page = ec2_query::parse_describe_instances(response->body);
  if (!page.ok()) return page.status().with_context("DescribeInstances " + std::string(instance_id));
  if (page->instances.empty()) {
    return Status::NotFound("EC2 described no instance " + std::string(instance_id));
  }
  for (Ec2Instance& instance : page->instances) {
    if (instance.instance_id == instance_id) return std::move(instance);
  }
  return Status::ProtocolError("DescribeInstances " + std::string(instance_id) + " answered instance " +
                               page->instances.front().instance_id);
}

Result<std::vector<Ec2Instance>> Ec2QueryClient::describe_instances(const std::vector<Ec2Filter>& filters) {
  std::vector<Ec2Instance> instances;
  std::set<std::string> tokens_seen;
  std::string token;
  for (int page_number = 1;; ++page_number) {
    Result<HttpResponse> response =
        post(ec2_query::describe_instances_body(filters, options_.max_results, token));
    if (!response.ok()) {
      return response.status().with_context("DescribeInstances page " + std::to_string(page_number));
    }
    Result<ec2_query::DescribeInstancesPage> page = ec2_query::parse_describe_instances(response->body);
    if (!page.ok()) return page.status().with_context("DescribeInstances page " + std::to_string(page_number));
    std::move(page->instances.begin(), page->instances.end(), std::back_inserter(instances));
    if (page->next_token.empty()) return instances;
    if (!tokens_seen.insert(page->next_token).second) {
      return Status::ProtocolError("DescribeInstances page " + std::to_string(page_number) +
                                   " repeated nextToken " + utf8_excerpt(page->next_token, kExcerptBytes));
    }
    if (page_number >= kMaxPages) {
      return Status::ProtocolError("DescribeInstances: still more pages after " + std::to_string(kMaxPages));
    }
    token = std::move(page->next_token);
  }
}

}  // namespace rcc
