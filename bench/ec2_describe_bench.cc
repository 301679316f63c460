// DescribeInstances wall time through Ec2QueryClient (SigV4, keep-alive Beast client, XML parsing) against
// the in-repo EC2 test server on 127.0.0.1 with latency and throttling off: by filters (the reconcile and
// fallback query, all pages) for 100 / 1,000 / 10,000 instances, and by instance id (the tag lookup).
//
// Usage: ec2_describe_bench [repetitions]   (default 20)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "testing/ec2_server.h"
#include "rcc/ec2_client.h"
#include "rcc/http_client.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string instance_id(int n) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", n);
  return id;
}

// A fleet shaped like a runner account: 3/4 active runners of the environment, the rest stopped,
// terminated or another environment's.
std::vector<rcc::Ec2Instance> fleet(int size) {
  std::vector<rcc::Ec2Instance> instances;
  for (int n = 0; n < size; ++n) {
    rcc::InstanceState state = n % 8 == 6 ? rcc::InstanceState::kStopped
                               : n % 8 == 7 ? rcc::InstanceState::kTerminated
                               : n % 2 == 0 ? rcc::InstanceState::kRunning
                                            : rcc::InstanceState::kPending;
    instances.push_back(rcc::Ec2Instance{instance_id(n),
                                         state,
                                         {{"ghr:Application", "github-action-runner"},
                                          {"ghr:environment", n % 16 == 5 ? "staging" : "prod"},
                                          {"ghr:Type", n % 3 == 0 ? "Repo" : "Org"},
                                          {"ghr:Owner", n % 3 == 0 ? "acme/widgets" : "acme"},
                                          {"ghr:created_by", "scale-up-lambda"}},
                                         1700000000000 + n});
  }
  return instances;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  std::size_t index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  int repetitions = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  rcc::Ec2ServerOptions server_options;
  server_options.burst = 0;  // no throttling
  auto server = rcc::Ec2TestServer::start(server_options);
  if (!server.ok()) {
    std::fprintf(stderr, "ec2_describe_bench: %s\n", server.status().to_string().c_str());
    return 1;
  }
  rcc::AwsClient aws(std::make_shared<rcc::BeastHttpClient>(), (*server)->endpoint(), "ec2", "us-east-1",
                     rcc::AwsCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""});
  rcc::Ec2QueryClient client(std::move(aws));

  std::printf("DescribeInstances via Ec2QueryClient -> ec2-test-server (127.0.0.1, no latency, no throttling), "
              "%d repetitions\n",
              repetitions);
  std::printf("%-10s %-26s %8s %6s %10s %10s %12s\n", "instances", "query", "matched", "pages", "median ms",
              "p90 ms", "instances/s");
  for (int size : {100, 1000, 10000}) {
    (*server)->clear_inventory();
    (*server)->launch_all(fleet(size));
    struct Query {
      const char* name;
      std::vector<rcc::Ec2Filter> filters;
    };
    for (const Query& query : {Query{"active_runner_filters", rcc::active_runner_filters("prod")},
                               Query{"no filter (all)", {}}}) {
      std::vector<double> ms;
      std::size_t matched = 0;
      std::int64_t requests_before = client.requests_sent();
      for (int r = 0; r < repetitions; ++r) {
        Clock::time_point start = Clock::now();
        auto instances = client.describe_instances(query.filters);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (!instances.ok()) {
          std::fprintf(stderr, "ec2_describe_bench: %s\n", instances.status().to_string().c_str());
          return 1;
        }
        matched = instances->size();
      }
      double pages = static_cast<double>(client.requests_sent() - requests_before) / repetitions;
      double median = percentile(ms, 0.5);
      std::printf("%-10d %-26s %8zu %6.0f %10.2f %10.2f %12.0f\n", size, query.name, matched, pages, median,
                  percentile(ms, 0.9), static_cast<double>(matched) / (median / 1000.0));
    }
  }

  std::vector<double> ms;
  for (int r = 0; r < repetitions * 10; ++r) {
    Clock::time_point start = Clock::now();
    auto instance = client.describe_instance(instance_id(r % 10000));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!instance.ok()) {
      std::fprintf(stderr, "ec2_describe_bench: %s\n", instance.status().to_string().c_str());
      return 1;
    }
  }
  std::printf("%-10d %-26s %8d %6d %10.3f %10.3f\n", 10000, "by instance id (tag lookup)", 1, 1, percentile(ms, 0.5),
              percentile(ms, 0.9));
  return 0;
}
