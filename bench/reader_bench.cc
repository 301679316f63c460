// The reader's cost per count as the active count of one key grows (10, 100, 1,000, 10,000):
//  - from the cache: DynamoStore on dynalite (the meta GetItem and the index Query with Select COUNT, sent
//    concurrently): DynamoDB requests, response bytes and wall time per count;
//  - from EC2 (the fallback): Ec2QueryClient against the in-repo EC2 test server with latency and throttling
//    off: DescribeInstances pages, response bytes and wall time per count.
// Each inventory also holds, for every 2 runners of the key, one instance that must not be counted (another
// owner, another environment, a stopped runner, a non-runner).
//
// Usage: reader_bench [repetitions]   (default 20). Needs node and dynalite (scripts/setup.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <openssl/evp.h>

#include "testing/dynalite.h"
#include "testing/ec2_server.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/http_client.h"
#include "core/memory_store.h"
#include "rcc/reader.h"

namespace {

using Clock = std::chrono::steady_clock;
const std::vector<std::string> kProdOnly = {"prod"};

const rcc::RunnerKey kKey{"prod", "Org", "acme"};

// dynalite keys a GSI entry by its index hash key plus only the first 6 hex digits of md5("Outliers" + pk)
// (db/index.js, hashPrefix), so two items of one key whose ids share that prefix overwrite each other in
// the index: about 3 of 10,000 runners of a key vanish from the count. DynamoDB has no such limit; the
// benchmark skips the ids that would collide, so the cache count stays exact.
std::string dynalite_index_prefix(const std::string& id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const std::string input = "Outliers" + id;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_md5(), nullptr);
  char hex[7];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x", digest[0], digest[1], digest[2]);
  return hex;
}

std::string instance_id(int n) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", n);
  return id;
}

// The next id, from *n on, whose dynalite index prefix is not taken yet.
std::string next_instance_id(int* n, std::unordered_set<std::string>* prefixes) {
  for (;;) {
    std::string id = instance_id((*n)++);
    if (prefixes->insert(dynalite_index_prefix(id)).second) return id;
  }
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
  std::unordered_set<std::string> prefixes;
  for (int i = 0; i < active; ++i) {
    out.push_back({next_instance_id(&n, &prefixes), rcc::InstanceState::kRunning, tags_for(kKey), 0});
  }
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

// An EC2 that must not be called: the cache part measures fresh reads only.
class NoEc2 : public rcc::Ec2 {
 public:
  rcc::Result<rcc::Ec2Instance> describe_instance(std::string_view) override {
    return rcc::Status::Internal("EC2 called on a fresh cache");
  }
  rcc::Result<std::vector<rcc::Ec2Instance>> describe_instances(const std::vector<rcc::Ec2Filter>&) override {
    return rcc::Status::Internal("EC2 called on a fresh cache");
  }
  std::int64_t requests_sent() const override { return 0; }
};

// Fresh reads on dynalite: with two handles (the two reads concurrent) and with one (meta, then index).
int bench_cache(int repetitions) {
  auto dynalite = rcc::testing::Dynalite::start();
  if (!dynalite.ok()) {
    std::fprintf(stderr, "reader_bench: %s\n", dynalite.status().to_string().c_str());
    return 1;
  }
  std::printf("Cache: RunnerCountReader -> DynamoStore -> dynalite (127.0.0.1), fresh meta item, %d repetitions\n",
              repetitions);
  std::printf("%8s %10s %9s %12s %14s %14s %16s\n", "active", "items", "requests", "bytes read",
              "median ms (2)", "p90 ms (2)", "median ms (1 h.)");
  NoEc2 no_ec2;
  for (int active : {10, 100, 1000, 10000}) {
    rcc::AwsClient admin = (*dynalite)->client();
    const std::string table = rcc::testing::unique_table_name("bench");
    if (auto s = rcc::testing::create_runner_table(admin, table); !s.ok()) {
      std::fprintf(stderr, "reader_bench: %s\n", s.to_string().c_str());
      return 1;
    }
    rcc::DynamoStore store((*dynalite)->client(), rcc::DynamoStoreOptions{table, 0});
    rcc::DynamoStore meta_store((*dynalite)->client(), rcc::DynamoStoreOptions{table, 0});
    const std::int64_t now = rcc::Env::Default()->wall_ms();
    rcc::ClockEnv at_now([now] { return now; });
    int items = 0;
    for (const auto& instance : inventory(active)) {
      const rcc::InstanceIdentity identity = rcc::identify(instance.tags, "prod");
      auto t = rcc::make_transition(rcc::WriteMode::kUpsert, instance.instance_id, instance.state, now / 1000 - 60,
                                    now - 60000, 86400, identity);
      auto written = store.apply(t);
      if (!written.ok()) {
        std::fprintf(stderr, "reader_bench: %s\n", written.status().to_string().c_str());
        return 1;
      }
      ++items;
    }
    rcc::ReconcileReport report;
    report.started_ms = now - 2000;
    report.finished_ms = now - 1000;
    if (!store.stamp_heartbeat(now, kProdOnly).ok() || !store.record_reconcile(report).ok()) return 1;

    auto measure = [&](rcc::RunnerCountReader& reader, std::vector<double>& ms) {
      for (int r = 0; r < repetitions; ++r) {
        const Clock::time_point start = Clock::now();
        auto answer = reader.count(kKey);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (!answer.ok() || answer->source != rcc::CountSource::kCache || answer->count != active) {
          std::fprintf(stderr, "reader_bench: wrong cache answer for %d: %lld (%s)\n", active,
                       answer.ok() ? static_cast<long long>(answer->count) : -1LL,
                       answer.ok() ? answer->detail.c_str() : answer.status().to_string().c_str());
          return false;
        }
      }
      return true;
    };
    const std::int64_t requests_before = store.stats().requests_sent + meta_store.stats().requests_sent;
    const std::int64_t bytes_before = store.stats().bytes_received + meta_store.stats().bytes_received;
    std::vector<double> concurrent_ms;
    rcc::RunnerCountReader concurrent(store, meta_store, no_ec2, {}, &at_now);
    if (!measure(concurrent, concurrent_ms)) return 1;
    const double requests =
        static_cast<double>(store.stats().requests_sent + meta_store.stats().requests_sent - requests_before) /
        repetitions;
    const double bytes =
        static_cast<double>(store.stats().bytes_received + meta_store.stats().bytes_received - bytes_before) /
        repetitions;
    std::vector<double> single_ms;
    rcc::RunnerCountReader single(store, no_ec2, {}, &at_now);
    if (!measure(single, single_ms)) return 1;
    std::printf("%8d %10d %9.1f %12.0f %14.2f %14.2f %16.2f\n", active, items, requests, bytes,
                percentile(concurrent_ms, 0.5), percentile(concurrent_ms, 0.9), percentile(single_ms, 0.5));
    (void)rcc::delete_table(admin, table);
  }
  return 0;
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
    rcc::VirtualEnv at_epoch;
    rcc::RunnerCountReader reader(empty, ec2, {}, &at_epoch);
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
  if (const int rc = bench_cache(repetitions); rc != 0) return rc;
  return bench_ec2_fallback(repetitions);
}
