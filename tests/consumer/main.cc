// Uses the installed public API as a scale-up does: validates and registers launches, and counts a key
// with the reader, against DynamoDB and EC2 endpoints on 127.0.0.1 that refuse every connection. Exits 0
// when every outcome is the documented one, 1 (naming the first difference) otherwise.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "rcc/aws_config.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/env.h"
#include "rcc/http_client.h"
#include "rcc/reader.h"
#include "rcc/registration.h"
#include "rcc/status.h"

namespace {

int failures = 0;

void expect(bool condition, const std::string& what) {
  std::printf("%s: %s\n", condition ? "ok" : "FAILED", what.c_str());
  if (!condition) ++failures;
}

// A loopback port bound but not listening: a connection to it is refused at once. The socket stays open
// for the life of the process so no one else takes the port. Returns 0 when no port could be bound.
int refusing_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return 0;
  }
  return ntohs(address.sin_port);
}

}  // namespace

int main() {
  const int port = refusing_port();
  if (port == 0) {
    std::printf("FAILED: no loopback port to bind\n");
    return 1;
  }
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
  rcc::AwsConfig config;
  config.region = "us-east-1";
  config.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  config.dynamodb_endpoint = endpoint;
  config.ec2_endpoint = endpoint;
  rcc::AwsClientOptions once;
  once.retry.max_attempts = 1;

  auto http = std::make_shared<rcc::BeastHttpClient>();
  rcc::DynamoStore store(rcc::AwsClient::for_service(http, config, rcc::AwsService::kDynamoDb, once),
                         {.table = "runners"});
  auto ec2 = rcc::Ec2QueryClient::for_config(http, config, once);

  const rcc::RunnerKey key{"prod", "Org", "acme"};
  const rcc::RegistrationOptions registration{.environment = "prod"};

  // Registration: a launch of another environment is refused before any request; a valid one reaches
  // the store, whose refused connection is that launch's retryable status.
  const rcc::Status foreign =
      rcc::validate_launch({"i-0123456789abcdef0", {"staging", "Org", "acme"}, 1700000000}, registration);
  expect(foreign.code() == rcc::Code::kInvalidArgument, "validate_launch refuses another environment: " +
                                                            foreign.to_string());
  const std::vector<rcc::RegistrationResult> results = rcc::register_launches(
      store, {{"i-0123456789abcdef0", key, 1700000000}}, registration, 1700000000000);
  expect(results.size() == 1 && rcc::count_failures(results) == 1 && results[0].status.retryable(),
         "register_launches reports the unreachable table per launch: " +
             (results.empty() ? std::string("no result") : results[0].status.to_string()));

  // The reader: the freshness rule alone, then a count whose cache read and EC2 fallback both fail.
  const rcc::ReaderOptions options;
  expect(rcc::validate_reader_options(options).ok(), "the default ReaderOptions are valid");
  const rcc::Freshness stale =
      rcc::assess_freshness(rcc::MetaItem{.heartbeat_ms = 0, .reconciled_ms = 0}, 61000, options);
  expect(stale.reason == rcc::FallbackReason::kHeartbeatStale,
         "a 61 s old heartbeat is stale: " + std::string(rcc::reason_name(stale.reason)));
  rcc::VirtualEnv clock(1700000000000);
  rcc::RunnerCountReader reader(store, ec2, options, &clock);
  const rcc::Result<rcc::CountAnswer> answer = reader.count(key);
  expect(!answer.ok() && answer.status().retryable() &&
             answer.status().message().find("EC2 fallback failed") != std::string::npos,
         "count() names the cache and the EC2 failure: " + answer.status().to_string());
  expect(reader.stats().failures == 1, "the reader counted the failure");

  return failures == 0 ? 0 : 1;
}
