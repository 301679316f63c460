// The EC2 cost of one deployment counting N runner configurations (ENVIRONMENT_FILTER with N environments)
// against N deployments of one environment each, measured with the EC2 test server's request counter:
//  - reconcile: DescribeInstances requests of one reconcile (the shipping reconcile(), steady state: the
//    table already agrees), summed over the deployments;
//  - tag lookups: DescribeInstances requests when one new instance's pending event reaches every
//    deployment (every deployment's rule receives every state change of the account, and apply_event
//    looks a new instance up before it knows whether it is one of its runners).
// Each environment has `per_environment` active runners; EC2 answers up to 1000 instances per page.
//
// Usage: environments_bench [per_environment ...]   (default 100 600)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "app/reconcile.h"
#include "core/counter.h"
#include "core/memory_store.h"
#include "core/tag_source.h"
#include "rcc/ec2_client.h"
#include "rcc/env.h"
#include "rcc/http_client.h"
#include "testing/ec2_server.h"

namespace {

std::string instance_id(int n) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", n);
  return id;
}

std::string environment_name(int e) { return "multi-runner-config-" + std::to_string(e); }

// `per_environment` running runners in each of `environments` environments, launched an hour ago (past the
// reconcile grace window), plus as many instances that are not runners.
std::vector<rcc::Ec2Instance> fleet(int environments, int per_environment, std::int64_t now_ms) {
  std::vector<rcc::Ec2Instance> out;
  int n = 0;
  for (int e = 0; e < environments; ++e) {
    for (int i = 0; i < per_environment; ++i, ++n) {
      out.push_back(rcc::Ec2Instance{instance_id(n),
                                     rcc::InstanceState::kRunning,
                                     {{"ghr:Application", "github-action-runner"},
                                      {"ghr:environment", environment_name(e)},
                                      {"ghr:Type", "Org"},
                                      {"ghr:Owner", "acme"}},
                                     now_ms - 3'600'000});
    }
  }
  for (int i = 0; i < per_environment; ++i, ++n) {
    out.push_back(rcc::Ec2Instance{instance_id(n), rcc::InstanceState::kRunning, {{"Name", "build-cache"}}, now_ms - 3'600'000});
  }
  return out;
}

struct Deployment {
  std::vector<std::string> environments;
  rcc::MemoryStore store;
};

// DescribeInstances requests of one steady-state reconcile of every deployment, or -1 on a failure.
std::int64_t reconcile_requests(std::vector<std::unique_ptr<Deployment>>& deployments, rcc::Ec2& ec2,
                                rcc::Ec2TestServer& server) {
  for (int pass = 0; pass < 2; ++pass) {  // the first pass fills the tables, the second is measured
    server.reset_counters();
    for (auto& d : deployments) {
      rcc::ReconcileOptions options;
      options.environments = d->environments;
      auto result = rcc::reconcile(d->store, ec2, options);
      if (!result.ok()) {
        std::fprintf(stderr, "environments_bench: reconcile: %s\n", result.status().to_string().c_str());
        return -1;
      }
    }
  }
  return server.requests();
}

// DescribeInstances requests when every deployment handles the pending event of one new instance.
std::int64_t lookup_requests(std::vector<std::unique_ptr<Deployment>>& deployments, rcc::Ec2& ec2,
                             rcc::Ec2TestServer& server, const std::string& new_id, std::int64_t now_ms) {
  server.reset_counters();
  rcc::VirtualEnv no_waits;
  rcc::Ec2TagSource tags(ec2, {}, &no_waits);
  for (auto& d : deployments) {
    const rcc::InstanceEvent event{new_id, rcc::InstanceState::kPending, now_ms / 1000, "bench"};
    auto applied = rcc::apply_event(d->store, tags, event, rcc::CounterOptions{d->environments, 86400}, now_ms);
    if (!applied.ok()) {
      std::fprintf(stderr, "environments_bench: apply_event: %s\n", applied.status().to_string().c_str());
      return -1;
    }
  }
  return server.requests();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::max(1, std::atoi(argv[i])));
  if (sizes.empty()) sizes = {100, 600};

  rcc::Ec2ServerOptions server_options;
  server_options.burst = 0;  // no throttling: requests are counted, not timed
  auto server = rcc::Ec2TestServer::start(server_options);
  if (!server.ok()) {
    std::fprintf(stderr, "environments_bench: %s\n", server.status().to_string().c_str());
    return 1;
  }
  rcc::AwsClient aws(std::make_shared<rcc::BeastHttpClient>(), (*server)->endpoint(), "ec2", "us-east-1",
                     rcc::AwsCredentials{"fake", "fake", ""});
  rcc::Ec2QueryClient ec2(std::move(aws));
  const std::int64_t now_ms = rcc::Env::Default()->wall_ms();

  std::printf("EC2 DescribeInstances requests: one deployment counting N environments vs N deployments of one\n");
  std::printf("%4s %8s %8s | %12s %12s | %12s %12s\n", "N", "runners/env", "runners", "reconcile 1",
              "reconcile N", "lookup 1", "lookup N");
  for (int per_environment : sizes) {
    for (int n : {1, 2, 4}) {
      (*server)->clear_inventory();
      (*server)->launch_all(fleet(n, per_environment, now_ms));
      std::vector<std::unique_ptr<Deployment>> one;
      one.push_back(std::make_unique<Deployment>());
      std::vector<std::unique_ptr<Deployment>> many;
      for (int e = 0; e < n; ++e) {
        one.front()->environments.push_back(environment_name(e));
        many.push_back(std::make_unique<Deployment>());
        many.back()->environments = {environment_name(e)};
      }
      const std::int64_t reconcile_one = reconcile_requests(one, ec2, **server);
      const std::int64_t reconcile_many = reconcile_requests(many, ec2, **server);
      const std::string new_id = instance_id(1'000'000 + n);
      (*server)->launch(rcc::Ec2Instance{new_id,
                                         rcc::InstanceState::kPending,
                                         {{"ghr:Application", "github-action-runner"},
                                          {"ghr:environment", environment_name(0)},
                                          {"ghr:Type", "Org"},
                                          {"ghr:Owner", "acme"}},
                                         now_ms});
      const std::int64_t lookup_one = lookup_requests(one, ec2, **server, new_id, now_ms);
      const std::int64_t lookup_many = lookup_requests(many, ec2, **server, new_id, now_ms);
      if (reconcile_one < 0 || reconcile_many < 0 || lookup_one < 0 || lookup_many < 0) return 1;
      std::printf("%4d %11d %8d | %12lld %12lld | %12lld %12lld\n", n, per_environment, n * per_environment,
                  static_cast<long long>(reconcile_one), static_cast<long long>(reconcile_many),
                  static_cast<long long>(lookup_one), static_cast<long long>(lookup_many));
    }
  }
  return 0;
}
