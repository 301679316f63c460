// The reader's cost per count as the active count of one key grows (10, 100, 1,000, 10,000):
//  - from the cache: DynamoStore on dynalite (the meta GetItem and the index Query with Select COUNT, sent
//    concurrently): DynamoDB requests, response bytes and wall time per count;
//  - from EC2 (the fallback): Ec2QueryClient against the in-repo EC2 test server with latency and throttling
//    off: DescribeInstances pages, response bytes and wall time per count.
// Each inventory also holds, for every 2 runners of the key, one instance that must not be counted (another
// owner, another environment, a stopped runner, a non-runner).
//
// Usage: reader_bench [repetitions]   (default 20). The cache part runs when dynalite is installed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ec2_server.h"
#include "rcc/ec2_client.h"
#include "rcc/http_client.h"
#include "rcc/memory_store.h"
#include "rcc/reader.h"
#include "reader_bench_cache.h"

namespace {

using Clock = std::chrono::steady_clock;

const rcc::RunnerKey kKey{"prod", "Org", "acme"};

std::string instance_id(int n) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", n);
  return id;
}

rcc::Tags tags_for(const rcc::RunnerKey& key) {
  return {{"ghr:Application", "github-action-runner"},
          {"ghr:environment", key.environment},
          {"ghr:Type", key.type},
          {"ghr:Owner", key.owner},
          {"ghr:created_by", "scale-up-lambda"}};
}

std::vector<rcc::Ec2Instance> inventory(int active) {
  std::vector<rcc::Ec2Instance> out;
  int n = 0;
  for (int i = 0; i < active; ++i) out.push_back({instance_id(n++), rcc::InstanceState::kRunning, tags_for(kKey), 0});
  for (int i = 0; i < active / 2; ++i) {
    switch (i % 4) {
      case 0: out.push_back({instance_id(n++), rcc::InstanceState::kRunning, tags_for({"prod", "Org", "globex"}), 0}); break;
      case 1: out.push_back({instance_id(n++), rcc::InstanceState::kRunning, tags_for({"dev", "Org", "acme"}), 0}); break;
      case 2: out.push_back({instance_id(n++), rcc::InstanceState::kStopped, tags_for(kKey), 0}); break;
      default: out.push_back({instance_id(n++), rcc::InstanceState::kRunning, {{"Name", "bastion"}}, 0});
    }
  }
  return out;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5)];
}

int bench_ec2_fallback(int repetitions) {
  rcc::Ec2ServerOptions server_options;
  server_options.burst = 0;
  auto server = rcc::Ec2TestServer::start(server_options);
  if (!server.ok()) {
    std::fprintf(stderr, "reader_bench: %s\n", server.status().to_string().c_str());
    return 1;
  }
  rcc::AwsClient aws(std::make_shared<rcc::BeastHttpClient>(), (*server)->endpoint(), "ec2", "us-east-1",
                     rcc::AwsCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""});
  rcc::Ec2QueryClient ec2(std::move(aws));
  rcc::MemoryStore empty;  // no meta item: every count falls back (meta_missing)

  std::printf("\nEC2 fallback: RunnerCountReader -> Ec2QueryClient -> ec2-test-server (127.0.0.1, latency off), "
              "%d repetitions\n",
              repetitions);
  std::printf("%8s %10s %8s %12s %10s %10s\n", "active", "inventory", "pages", "bytes", "median ms", "p90 ms");
  for (int active : {10, 100, 1000, 10000}) {
    (*server)->clear_inventory();
    (*server)->launch_all(inventory(active));
    rcc::RunnerCountReader reader(empty, ec2, {}, [] { return std::int64_t{0}; });
    std::vector<double> ms;
    const std::int64_t requests_before = ec2.stats().requests_sent;
    const std::int64_t bytes_before = ec2.stats().bytes_received;
    for (int r = 0; r < repetitions; ++r) {
      const Clock::time_point start = Clock::now();
      auto answer = reader.count(kKey);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!answer.ok() || answer->count != active || answer->source != rcc::CountSource::kEc2) {
        std::fprintf(stderr, "reader_bench: wrong answer for %d: %s\n", active,
                     answer.ok() ? std::to_string(answer->count).c_str() : answer.status().to_string().c_str());
        return 1;
      }
    }
    std::printf("%8d %10d %8.1f %12.0f %10.2f %10.2f\n", active, active + active / 2,
                static_cast<double>(ec2.stats().requests_sent - requests_before) / repetitions,
                static_cast<double>(ec2.stats().bytes_received - bytes_before) / repetitions, percentile(ms, 0.5),
                percentile(ms, 0.9));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int repetitions = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  int rc = rcc::bench::bench_cache(repetitions, kKey, {10, 100, 1000, 10000});
  if (rc != 0) return rc;
  return bench_ec2_fallback(repetitions);
}
