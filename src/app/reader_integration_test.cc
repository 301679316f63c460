// The reader against the in-repo EC2 test server (EC2 Query API over HTTP on 127.0.0.1) through the real
// Ec2QueryClient, on each table backend: the embedded MemoryStore, and DynamoStore on dynalite.
#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>

#include <gtest/gtest.h>

#include "testing/ec2_server.h"
#include "testing/fakes.h"
#include "app/reader_test_backends.h"
#include "core/counter.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/http_client.h"
#include "rcc/reader.h"
#include "app/reconcile.h"
#include "core/tag_source.h"

namespace rcc {
namespace {

using testing::instance_id;
using testing::kProdOnly;
using testing::runner_tags;

constexpr std::int64_t kT0 = 1'764'000'000'000;  // the trace's start, epoch ms

RetryPolicy fast_policy(int attempts) {
  RetryPolicy policy;
  policy.max_attempts = attempts;
  policy.base_delay = std::chrono::milliseconds(1);
  policy.max_delay = std::chrono::milliseconds(5);
  policy.total_budget = std::chrono::milliseconds(20000);
  return policy;
}

std::unique_ptr<Ec2QueryClient> ec2_client(const Ec2TestServer& server, int attempts = 4) {
  AwsClientOptions options;
  options.retry = fast_policy(attempts);
  AwsClient aws(std::make_shared<BeastHttpClient>(), server.endpoint(), "ec2", "us-east-1",
                AwsCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, options);
  return std::make_unique<Ec2QueryClient>(std::move(aws));
}

class ReaderIntegrationTest : public ::testing::TestWithParam<testing::BackendKind> {
 protected:
  void SetUp() override {
    Ec2ServerOptions server_options;
    server_options.burst = 0;  // no token bucket: throttling comes only from the faults a test injects
    auto started = Ec2TestServer::start(server_options);
    ASSERT_TRUE(started.ok()) << started.status().to_string();
    server_ = std::move(started).value();
    auto backend = testing::make_backend(GetParam());
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    backend_ = std::move(backend).value();
    ec2_ = ec2_client(*server_);
  }

  // The pipeline alive `heartbeat_age` ms before now_, reconciled `reconcile_age` ms before now_.
  void stamp(std::int64_t heartbeat_age, std::int64_t reconcile_age) {
    ASSERT_TRUE(backend_->store().stamp_heartbeat(now_ - heartbeat_age, kProdOnly).ok());
    ReconcileReport report;
    report.started_ms = now_ - reconcile_age - 500;
    report.finished_ms = now_ - reconcile_age;
    ASSERT_TRUE(backend_->store().record_reconcile(report).ok());
  }

  // An active runner written to the table only.
  void table_runner(int n, const RunnerKey& key) {
    const InstanceIdentity identity =
        identify(runner_tags(key.environment, key.type, key.owner), key.environment);
    auto written = backend_->store().apply(make_transition(WriteMode::kUpsert, instance_id(n),
                                                           InstanceState::kRunning, kT0 / 1000, kT0, 86400,
                                                           identity));
    ASSERT_TRUE(written.ok()) << written.status().to_string();
  }

  RunnerCountReader reader(ReaderOptions options = {}) {
    return RunnerCountReader(backend_->store(), backend_->meta_store(), *ec2_, options, &clock_);
  }

  std::unique_ptr<Ec2TestServer> server_;
  std::unique_ptr<testing::Backend> backend_;
  std::unique_ptr<Ec2QueryClient> ec2_;
  std::int64_t now_ = kT0 + 3'600'000;
  ClockEnv clock_{[this] { return now_; }};
};

const RunnerKey kAcme{"prod", "Org", "acme"};

TEST_P(ReaderIntegrationTest, FreshCacheAnswersWithZeroEc2Calls) {
  stamp(1500, 60000);
  for (int n = 1; n <= 3; ++n) table_runner(n, kAcme);
  table_runner(4, RunnerKey{"prod", "Org", "other"});
  server_->launch(Ec2Instance{instance_id(9), InstanceState::kRunning, runner_tags("prod", "Org", "acme"), 0});
  auto r = reader();
  auto answer = r.count(kAcme);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->source, CountSource::kCache) << answer->detail;
  EXPECT_EQ(answer->count, 3);
  EXPECT_EQ(answer->age_ms, 1500);
  EXPECT_EQ(server_->requests(), 0);
}

// A table that counts prod, asked about staging: the index holds no staging runner, so "fresh, 0" would
// be wrong. The reader falls back and says why; the staging runner EC2 lists is counted.
TEST_P(ReaderIntegrationTest, AnotherEnvironmentFallsBackWithEnvironmentMismatch) {
  stamp(1500, 60000);
  table_runner(1, kAcme);
  server_->launch(Ec2Instance{instance_id(7), InstanceState::kRunning, runner_tags("staging", "Org", "acme"), 0});
  auto r = reader();
  auto answer = r.count(RunnerKey{"staging", "Org", "acme"});
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->reason, FallbackReason::kEnvironmentMismatch);
  EXPECT_EQ(answer->source, CountSource::kEc2);
  EXPECT_EQ(answer->count, 1);
  EXPECT_EQ(answer->age_ms, 1500);
  EXPECT_EQ(answer->detail, "the table counts prod, not staging");
  EXPECT_EQ(server_->requests(), 1);

  // The environment the table counts is still answered from the cache.
  auto prod = r.count(kAcme);
  ASSERT_TRUE(prod.ok()) << prod.status().to_string();
  EXPECT_EQ(prod->source, CountSource::kCache) << prod->detail;
  EXPECT_EQ(prod->count, 1);
}

// One deployment for several runner configurations: every listed environment is answered from the cache.
TEST_P(ReaderIntegrationTest, EveryEnvironmentOfTheListIsAnsweredFromTheCache) {
  const std::vector<std::string> both = {"multi-runner-linux-x64", "multi-runner-linux-arm64"};
  ASSERT_TRUE(backend_->store().stamp_heartbeat(now_ - 1000, both).ok());
  ReconcileReport report;
  report.finished_ms = now_ - 2000;
  ASSERT_TRUE(backend_->store().record_reconcile(report).ok());
  table_runner(1, RunnerKey{"multi-runner-linux-x64", "Org", "acme"});
  table_runner(2, RunnerKey{"multi-runner-linux-arm64", "Org", "acme"});
  table_runner(3, RunnerKey{"multi-runner-linux-arm64", "Org", "acme"});
  auto r = reader();
  for (const auto& [environment, expected] : {std::pair{both[0], 1}, std::pair{both[1], 2}}) {
    auto answer = r.count(RunnerKey{environment, "Org", "acme"});
    ASSERT_TRUE(answer.ok()) << answer.status().to_string();
    EXPECT_EQ(answer->source, CountSource::kCache) << environment << ": " << answer->detail;
    EXPECT_EQ(answer->count, expected) << environment;
  }
  auto other = r.count(RunnerKey{"multi-runner-windows-x64", "Org", "acme"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->reason, FallbackReason::kEnvironmentMismatch);
  EXPECT_EQ(other->detail, "the table counts multi-runner-linux-arm64,multi-runner-linux-x64, not multi-runner-windows-x64");
}

TEST_P(ReaderIntegrationTest, EachStalenessCauseFallsBackAndSaysWhich) {
  server_->launch(Ec2Instance{instance_id(1), InstanceState::kRunning, runner_tags("prod", "Org", "acme"), 0});
  table_runner(2, kAcme);
  table_runner(3, kAcme);
  auto r = reader();

  auto missing = r.count(kAcme);
  ASSERT_TRUE(missing.ok()) << missing.status().to_string();
  EXPECT_EQ(missing->reason, FallbackReason::kMetaMissing);
  EXPECT_EQ(missing->source, CountSource::kEc2);
  EXPECT_EQ(missing->count, 1);

  stamp(60001, 0);
  auto stale = r.count(kAcme);
  ASSERT_TRUE(stale.ok()) << stale.status().to_string();
  EXPECT_EQ(stale->reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(stale->count, 1);
  EXPECT_EQ(stale->age_ms, 60001);

  now_ += 900001;  // the reconcile recorded at the old now_ is one ms past 3 intervals
  ASSERT_TRUE(backend_->store().stamp_heartbeat(now_, kProdOnly).ok());
  auto overdue = r.count(kAcme);
  ASSERT_TRUE(overdue.ok()) << overdue.status().to_string();
  EXPECT_EQ(overdue->reason, FallbackReason::kReconcileOverdue);
  EXPECT_EQ(overdue->count, 1);

  stamp(0, 0);
  auto fresh = r.count(kAcme);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->source, CountSource::kCache);
  EXPECT_EQ(fresh->count, 2);
  EXPECT_EQ(server_->requests(), 3);
}

TEST_P(ReaderIntegrationTest, CacheReadFailureFallsBackAndSaysWhy) {
  server_->launch(Ec2Instance{instance_id(1), InstanceState::kRunning, runner_tags("prod", "Org", "acme"), 0});
  stamp(0, 0);
  for (const auto& [fault, what] : backend_->read_faults()) {
    SCOPED_TRACE(what);
    auto broken = backend_->broken(fault);
    ASSERT_TRUE(broken.ok()) << broken.status().to_string();
    RunnerCountReader r((*broken)->store(), (*broken)->meta_store(), *ec2_, {}, &clock_);
    auto answer = r.count(kAcme);
    ASSERT_TRUE(answer.ok()) << answer.status().to_string();
    EXPECT_EQ(answer->reason, FallbackReason::kCacheReadFailed);
    EXPECT_EQ(answer->source, CountSource::kEc2);
    EXPECT_EQ(answer->count, 1);
    EXPECT_FALSE(answer->detail.empty());
  }
}

TEST_P(ReaderIntegrationTest, FallbackEqualsEc2TruthInAMixedInventory) {
  std::mt19937 rng(7);
  const std::vector<std::string> owners = {"acme", "acme/app", "globex", "initech"};
  const std::vector<std::string> envs = {"prod", "staging"};
  const std::vector<InstanceState> states = {InstanceState::kPending, InstanceState::kRunning,
                                             InstanceState::kStopped, InstanceState::kTerminated,
                                             InstanceState::kShuttingDown};
  std::vector<Ec2Instance> inventory;
  for (int n = 0; n < 1300; ++n) {
    Tags tags;
    switch (rng() % 6) {
      case 0: tags = Tags{{"Name", "bastion"}}; break;                          // not a runner
      case 1: tags = runner_tags("prod", "Org", "acme"); tags["ghr:Application"] = "other"; break;
      default:
        tags = runner_tags(envs[rng() % envs.size()], rng() % 2 ? "Org" : "Repo", owners[rng() % owners.size()]);
    }
    if (rng() % 5 == 0) tags["ghr:environment"] = "prod";
    inventory.push_back(Ec2Instance{instance_id(n), states[rng() % states.size()], tags, 0});
  }
  server_->launch_all(inventory);
  auto r = reader();
  int nonzero = 0;
  for (const auto& env : envs) {
    for (const std::string type : {"Org", "Repo"}) {
      for (const auto& owner : owners) {
        const RunnerKey key{env, type, owner};
        std::int64_t truth = 0;  // computed here independently of count_matching_runners
        for (const auto& i : inventory) {
          const bool active = i.state == InstanceState::kPending || i.state == InstanceState::kRunning;
          auto tag = [&](const char* k) { auto it = i.tags.find(k); return it == i.tags.end() ? "" : it->second; };
          if (active && tag("ghr:Application") == "github-action-runner" && tag("ghr:environment") == env &&
              tag("ghr:Type") == type && tag("ghr:Owner") == owner) {
            ++truth;
          }
        }
        auto answer = r.count(key);
        ASSERT_TRUE(answer.ok()) << answer.status().to_string();
        EXPECT_EQ(answer->source, CountSource::kEc2);
        EXPECT_EQ(answer->count, truth) << key.str();
        nonzero += truth > 0 ? 1 : 0;
      }
    }
  }
  EXPECT_GE(nonzero, 10);
  // Only the state and environment filters went to EC2, with MaxResults pagination.
  for (const auto& request : server_->request_log()) {
    EXPECT_EQ(request.param("Filter.1.Name"), "instance-state-name");
    EXPECT_EQ(request.param("Filter.2.Name"), "tag:ghr:environment");
    EXPECT_EQ(request.param("Filter.3.Name"), "");
  }
}

TEST_P(ReaderIntegrationTest, ThrottledFallbackRetriesThenAnswers) {
  server_->launch(Ec2Instance{instance_id(1), InstanceState::kRunning, runner_tags("prod", "Org", "acme"), 0});
  server_->throttle_next(2);
  auto r = reader();
  auto answer = r.count(kAcme);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->source, CountSource::kEc2);
  EXPECT_EQ(answer->count, 1);
  EXPECT_EQ(server_->stats().throttled, 2);
  EXPECT_EQ(server_->stats().succeeded, 1);
}

TEST_P(ReaderIntegrationTest, PersistentThrottlingFailsWithAClearMessage) {
  server_->throttle_next(1000);
  auto r = reader();
  auto answer = r.count(kAcme);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kThrottled);
  const std::string message = answer.status().message();
  EXPECT_NE(message.find("meta_missing"), std::string::npos) << message;
  EXPECT_NE(message.find("EC2 fallback failed"), std::string::npos) << message;
  EXPECT_NE(message.find("RequestLimitExceeded"), std::string::npos) << message;
  EXPECT_EQ(server_->stats().throttled, 4);  // every attempt of the budget
  EXPECT_EQ(r.stats().failures, 1);
}

// A fleet's events through apply_event with duplicates, reordering and dropped events; then one
// reconcile. Before it the cache is wrong (the faults bite); after it every key's cache count equals EC2's.
TEST_P(ReaderIntegrationTest, CacheEqualsEc2AfterAFaultyTraceAndAReconcile) {
  std::mt19937 rng(11);
  const std::vector<RunnerKey> keys = {{"prod", "Org", "acme"}, {"prod", "Repo", "acme/app"},
                                       {"prod", "Org", "globex"}};
  std::vector<InstanceEvent> trace;
  std::int64_t last_time_s = kT0 / 1000;
  for (int n = 0; n < 120; ++n) {
    const RunnerKey& key = keys[n % keys.size()];
    const std::int64_t launch_s = kT0 / 1000 + n * 7;
    Tags tags = n % 10 == 9 ? Tags{{"Name", "build-cache"}} : runner_tags(key.environment, key.type, key.owner);
    // Instance 3 finishes and 4 and 7 stay running, for the dropped events below; the rest at random.
    const bool finished = n == 3 || (n != 4 && n != 7 && rng() % 2 == 0);
    const InstanceState final_state = finished ? InstanceState::kTerminated : InstanceState::kRunning;
    server_->launch(Ec2Instance{instance_id(n), final_state, tags, launch_s * 1000});
    std::vector<std::pair<InstanceState, std::int64_t>> lifecycle = {{InstanceState::kPending, launch_s},
                                                                     {InstanceState::kRunning, launch_s + 20}};
    if (finished) {
      lifecycle.push_back({InstanceState::kShuttingDown, launch_s + 400});
      lifecycle.push_back({InstanceState::kTerminated, launch_s + 460});
    }
    for (const auto& [state, time_s] : lifecycle) {
      trace.push_back(InstanceEvent{instance_id(n), state, time_s, "e-" + std::to_string(trace.size())});
      last_time_s = std::max(last_time_s, time_s);
    }
  }
  // Faults: every fifth event delivered twice, adjacent events swapped, and events dropped: the end
  // (shutting-down, terminated) of a finished runner, which the table keeps active, and every event of two
  // running ones, which the table never learns.
  std::vector<InstanceEvent> faulty;
  int dropped = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const InstanceEvent& e = trace[i];
    if (e.instance_id == instance_id(3) && !is_active(e.state)) {
      ASSERT_EQ(server_->instances()[3].state, InstanceState::kTerminated);
      ++dropped;
      continue;
    }
    if (e.instance_id == instance_id(4) || e.instance_id == instance_id(7)) {
      ++dropped;
      continue;
    }
    faulty.push_back(e);
    if (i % 5 == 0) faulty.push_back(e);
  }
  ASSERT_GE(dropped, 3);
  for (std::size_t i = 0; i + 1 < faulty.size(); i += 3) std::swap(faulty[i], faulty[i + 1]);
  std::shuffle(faulty.begin() + faulty.size() / 2, faulty.end(), rng);

  VirtualEnv no_waits;
  Ec2TagSource tags(*ec2_, {}, &no_waits);
  const CounterOptions counter{{"prod"}, 86400};
  for (const InstanceEvent& e : faulty) {
    auto applied = apply_event(backend_->store(), tags, e, counter, e.time_s * 1000);
    ASSERT_TRUE(applied.ok()) << e.instance_id << ": " << applied.status().to_string();
  }

  auto ec2_truth = [&](const RunnerKey& key) { return count_matching_runners(server_->instances(), key); };
  now_ = last_time_s * 1000 + 600'000;  // past the reconcile grace window
  ASSERT_TRUE(backend_->store().stamp_heartbeat(now_, kProdOnly).ok());
  ReconcileReport bootstrap;  // a reconcile "long ago" would make the reader fall back; stamp a fresh one
  bootstrap.started_ms = now_ - 1000;
  bootstrap.finished_ms = now_;
  ASSERT_TRUE(backend_->store().record_reconcile(bootstrap).ok());

  int wrong_before = 0;
  {
    auto r = reader();
    for (const auto& key : keys) {
      auto answer = r.count(key);
      ASSERT_TRUE(answer.ok()) << answer.status().to_string();
      ASSERT_EQ(answer->source, CountSource::kCache) << answer->detail;
      wrong_before += answer->count != ec2_truth(key) ? 1 : 0;
    }
  }
  EXPECT_GE(wrong_before, 1) << "the dropped events should have left the cache wrong";

  ReconcileOptions options;
  options.environments = {"prod"};
  auto reconciled = reconcile(backend_->store(), *ec2_, options, &clock_);
  ASSERT_TRUE(reconciled.ok()) << reconciled.status().to_string();
  EXPECT_GE(reconciled->report.added + reconciled->report.removed, 3);

  auto cache_reader = reader();
  std::int64_t total = 0;
  for (const auto& key : keys) {
    auto cached = cache_reader.count(key);
    ASSERT_TRUE(cached.ok()) << cached.status().to_string();
    EXPECT_EQ(cached->source, CountSource::kCache) << cached->detail;
    EXPECT_EQ(cached->count, ec2_truth(key)) << key.str();
    total += cached->count;
  }
  EXPECT_GT(total, 20);
  // And the EC2 fallback path agrees: a reader that finds the heartbeat stale.
  now_ += 60'001;
  auto fallback_reader = reader();
  for (const auto& key : keys) {
    auto fallback = fallback_reader.count(key);
    ASSERT_TRUE(fallback.ok()) << fallback.status().to_string();
    EXPECT_EQ(fallback->source, CountSource::kEc2);
    EXPECT_EQ(fallback->count, ec2_truth(key)) << key.str();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ReaderIntegrationTest, ::testing::ValuesIn(testing::all_backends()),
                         [](const auto& info) { return std::string(testing::backend_name(info.param)); });

}  // namespace
}  // namespace rcc

namespace rcc {
namespace {

using testing::RecordingHttpClient;

// Pins the two requests docs/table-contract.md documents, and that a read never writes.
TEST(ReaderOnDynalite, SendsExactlyTheContractRequests) {
  auto dynalite = testing::Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  AwsClient admin = (*dynalite)->client();
  const std::string table = testing::unique_table_name("contract-doc");
  ASSERT_TRUE(testing::create_runner_table(admin, table).ok());
  DynamoStore writer((*dynalite)->client(), DynamoStoreOptions{table, 0});
  const std::int64_t now = kT0;
  ASSERT_TRUE(writer.stamp_heartbeat(now - 1843, testing::kProdOnly).ok());
  ReconcileReport report;
  report.started_ms = now - 126000;
  report.finished_ms = now - 124001;
  ASSERT_TRUE(writer.record_reconcile(report).ok());
  for (int n = 0; n < 5; ++n) {
    const InstanceIdentity identity = identify(runner_tags("prod", "Org", "acme"), "prod");
    ASSERT_TRUE(writer.apply(make_transition(WriteMode::kUpsert, instance_id(n), InstanceState::kRunning,
                                             now / 1000 - 60, now - 60000, 86400, identity))
                    .ok());
  }

  auto requests = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  auto requests_mu = std::make_shared<std::mutex>();
  auto make_store = [&](int page_limit) {
    auto http = std::make_shared<RecordingHttpClient>();
    http->requests = requests;
    http->mu = requests_mu;
    return std::make_unique<DynamoStore>(AwsClient(http, (*dynalite)->endpoint(), "dynamodb", "us-east-1",
                                                   AwsCredentials{"fake", "fake", ""}),
                                         DynamoStoreOptions{table, page_limit});
  };
  auto store = make_store(0);
  auto meta_store = make_store(0);
  auto server = Ec2TestServer::start({});
  ASSERT_TRUE(server.ok());
  auto ec2 = ec2_client(**server);
  ClockEnv at_now([] { return kT0; });
  RunnerCountReader reader(*store, *meta_store, *ec2, {}, &at_now);
  auto answer = reader.count(RunnerKey{"prod", "Org", "acme"});
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->source, CountSource::kCache) << answer->detail;
  EXPECT_EQ(answer->count, 5);
  EXPECT_EQ(answer->age_ms, 1843);
  EXPECT_EQ((*server)->requests(), 0);

  ASSERT_EQ(requests->size(), 2u);
  std::map<std::string, std::string> by_target(requests->begin(), requests->end());
  EXPECT_EQ(by_target["DynamoDB_20120810.GetItem"],
            R"({"ConsistentRead":true,"Key":{"pk":{"S":"#meta"}},"TableName":")" + table + R"("})");
  EXPECT_EQ(by_target["DynamoDB_20120810.Query"],
            R"({"ExpressionAttributeNames":{"#active":"active_key"},"ExpressionAttributeValues":{":key":{"S":"prod#Org#acme"}},"IndexName":"active","KeyConditionExpression":"#active = :key","Select":"COUNT","TableName":")" +
                table + R"("})");

  // With pages of 2 the count follows LastEvaluatedKey: 3 Query pages, still no write.
  requests->clear();
  auto paged = make_store(2);
  RunnerCountReader paged_reader(*paged, *meta_store, *ec2, {}, &at_now);
  auto paged_answer = paged_reader.count(RunnerKey{"prod", "Org", "acme"});
  ASSERT_TRUE(paged_answer.ok());
  EXPECT_EQ(paged_answer->count, 5);
  int queries = 0;
  for (const auto& [target, body] : *requests) {
    EXPECT_TRUE(target == "DynamoDB_20120810.Query" || target == "DynamoDB_20120810.GetItem") << target;
    if (target == "DynamoDB_20120810.Query") {
      ++queries;
      if (queries > 1) {
        EXPECT_NE(body.find("ExclusiveStartKey"), std::string::npos) << body;
      }
    }
  }
  EXPECT_EQ(queries, 3);
}

}  // namespace
}  // namespace rcc
