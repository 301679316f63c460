// Launch registration and slot grants on DynamoStore against dynalite: the register-vs-event property,
// concurrent deciders with one table handle per thread, a crashed decider's grant running out, and the
// requests each step sends.
#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/dynalite.h"
#include "testing/fakes.h"
#include "core/counter.h"
#include "rcc/dynamo_store.h"
#include "rcc/registration.h"
#include "rcc/slots.h"
#include "app/reader_test_backends.h"
#include "app/registration_property.h"

namespace rcc {
namespace {

using testing::Dynalite;
using testing::FakeEc2;
using testing::instance_id;

const RunnerKey kAcme{"prod", "Org", "acme"};

// A new table on the process's dynalite; `table` receives its name.
std::unique_ptr<DynamoStore> new_table(std::string* table) {
  auto dynalite = Dynalite::shared();
  EXPECT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  if (!dynalite.ok()) return nullptr;
  AwsClient client = (*dynalite)->client();
  *table = testing::unique_table_name("slots");
  Status s = testing::create_runner_table(client, *table);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return std::make_unique<DynamoStore>(std::move(client), DynamoStoreOptions{*table});
}

// Another handle (own connection) on `table`.
std::unique_ptr<DynamoStore> handle(const std::string& table) {
  auto dynalite = Dynalite::shared();
  return std::make_unique<DynamoStore>((*dynalite)->client(), DynamoStoreOptions{table});
}

void make_fresh(Store& store, std::int64_t now_ms) {
  ASSERT_TRUE(store.stamp_heartbeat(now_ms, testing::kProdOnly).ok());
  ReconcileReport report;
  report.finished_ms = now_ms;
  ASSERT_TRUE(store.record_reconcile(report).ok());
}

// Fewer seeds than on MemoryStore: each delivery is a request to dynalite.
TEST(RegistrationOnDynalite, RegistrationAndEventsInAnyOrder) {
  std::string table;
  auto store = new_table(&table);
  ASSERT_NE(store, nullptr);
  for (std::uint64_t seed = 1; seed <= 25; ++seed) {
    testing::check_registration_against_events(*store, seed, 4);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(RegistrationOnDynalite, RegistrationAndEventsInAnyOrderWithLookupsOff) {
  std::string table;
  auto store = new_table(&table);
  ASSERT_NE(store, nullptr);
  for (std::uint64_t seed = 101; seed <= 125; ++seed) {
    testing::check_registration_against_events(*store, seed, 4, /*lookup_unregistered=*/false);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(RegistrationOnDynalite, OneConditionalWritePerInstanceAndErrorsPerInstance) {
  std::string table;
  auto store = new_table(&table);
  ASSERT_NE(store, nullptr);
  std::vector<LaunchedRunner> launches;
  for (unsigned i = 0; i < 5; ++i) launches.push_back({instance_id(0x500 + i), kAcme, 1'700'000'000});
  store->client().reset_stats();
  auto results = register_launches(*store, launches, {"prod"}, 1'700'000'000'000);
  EXPECT_EQ(count_failures(results), 0);
  EXPECT_EQ(store->stats().requests_sent, 5);
  // Again: every one already known, still one request each, none a failure.
  results = register_launches(*store, launches, {"prod"}, 1'700'000'000'100);
  for (const auto& r : results) EXPECT_EQ(r.outcome, RegistrationOutcome::kAlreadyKnown) << r.instance_id;
  EXPECT_EQ(count_failures(results), 0);
  EXPECT_EQ(store->stats().requests_sent, 10);
  EXPECT_EQ(*store->count_active(kAcme.str()), 5);

  // A table that does not exist: each instance reports the error.
  DynamoStore missing((*Dynalite::shared())->client(), DynamoStoreOptions{"no-such-table"});
  results = register_launches(missing, launches, {"prod"}, 1'700'000'000'200);
  ASSERT_EQ(results.size(), 5u);
  for (const auto& r : results) EXPECT_EQ(r.status.code(), Code::kNotFound) << r.status.to_string();
}

TEST(SlotsOnDynalite, RequestsPerDecision) {
  std::string table;
  auto store = new_table(&table);
  ASSERT_NE(store, nullptr);
  VirtualEnv env(1'700'000'000'000, 3);
  make_fresh(*store, env.wall_ms());
  FakeEc2 ec2;
  RunnerCountReader reader(*store, ec2, ReaderOptions{}, &env);
  store->client().reset_stats();
  auto grant = take_slots(*store, reader, kAcme, 10, 3, "holder-a", {}, &env);
  ASSERT_TRUE(grant.ok()) << grant.status().to_string();
  EXPECT_EQ(grant->allowed, 3);
  EXPECT_EQ(store->stats().requests_sent, 4) << "meta GetItem, index Query, lease GetItem, grant UpdateItem";
  ASSERT_EQ(*release_slots(*store, *grant, 3, {}, env.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(store->stats().requests_sent, 5) << "one conditional UpdateItem to release";
  auto next = take_slots(*store, reader, kAcme, 10, 10, "holder-b", {}, &env);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->in_flight, 3);
  EXPECT_EQ(next->allowed, 7);
  EXPECT_EQ(store->stats().requests_sent, 9);
  // A release by holder id alone (another process) is the same single write.
  ASSERT_EQ(*release_slots(*store, kAcme, "holder-b", 0, {}, env.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(store->stats().requests_sent, 10);
  // No free slot: the three reads, nothing written.
  auto full = take_slots(*store, reader, kAcme, 3, 1, "holder-c", {}, &env);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->allowed, 0);
  EXPECT_EQ(store->stats().requests_sent, 13);
  EXPECT_EQ(ec2.requests_sent(), 0);
}

TEST(SlotsOnDynalite, ACrashedDecidersGrantStopsCountingAtItsExpiry) {
  std::string table;
  auto store = new_table(&table);
  ASSERT_NE(store, nullptr);
  VirtualEnv env(1'700'000'000'000, 5);
  make_fresh(*store, env.wall_ms());
  FakeEc2 ec2;
  RunnerCountReader reader(*store, ec2, ReaderOptions{}, &env);
  SlotOptions options;
  options.lease_ms = 20'000;
  auto crashed = take_slots(*store, reader, kAcme, 10, 8, "crashed", options, &env);
  ASSERT_TRUE(crashed.ok());
  auto next = take_slots(*store, reader, kAcme, 10, 8, "next", options, &env);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->in_flight, 8);
  EXPECT_EQ(next->allowed, 2);
  EXPECT_EQ(env.slept_ms(), 0);
  env.advance(options.lease_ms);
  auto later = take_slots(*store, reader, kAcme, 10, 8, "later", options, &env);
  ASSERT_TRUE(later.ok()) << later.status().to_string();
  EXPECT_EQ(later->in_flight, 0);
  EXPECT_EQ(later->allowed, 8);
  env.advance(options.lease_ms);
  ASSERT_TRUE(take_slots(*store, reader, kAcme, 10, 1, "last", options, &env).ok());
  auto lease = store->get_lease(kAcme.str());
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->version, 4);
  EXPECT_EQ(lease->grants.size(), 2u) << "later's and last's: those run out for lease_ms were removed";
  EXPECT_FALSE(lease->grants.contains("crashed"));
  EXPECT_FALSE(lease->grants.contains("next"));
  EXPECT_EQ(*release_slots(*store, *crashed, 2, options, env.wall_ms()), ReleaseOutcome::kLost);
  EXPECT_EQ(*release_slots(*store, kAcme, "last", 1, options, env.wall_ms()), ReleaseOutcome::kReleased);
}

// Threads, each with its own table handle and reader, decide for one key, register what they were
// allowed and release; runners end meanwhile. The key never holds more than the maximum.
TEST(SlotsOnDynalite, ConcurrentDecidersOnOneKeyNeverExceedTheMaximum) {
  constexpr int kThreads = 6;
  constexpr int kDecisions = 12;
  constexpr std::int64_t kMaximum = 8;
  std::string table;
  auto setup = new_table(&table);
  ASSERT_NE(setup, nullptr);
  Env* env = Env::Default();
  make_fresh(*setup, env->wall_ms());
  std::atomic<int> over_maximum{0};
  std::atomic<int> failures{0};
  std::atomic<std::int64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto store = handle(table);
      FakeEc2 ec2;
      testing::FakeTagSource tags;
      RunnerCountReader reader(*store, ec2, ReaderOptions{}, env);
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 11);
      std::vector<std::string> mine;
      SlotOptions options;
      options.wait_ms = 60'000;
      options.settle_ms = 0;  // dynalite's index shows a registration at once
      for (int d = 0; d < kDecisions; ++d) {
        if (!mine.empty() && rng() % 2 == 0) {
          auto ended = apply_event(*store, tags,
                                   InstanceEvent{mine.back(), InstanceState::kTerminated, env->wall_ms() / 1000 + 1, "e"},
                                   CounterOptions{{"prod"}, 86400}, env->wall_ms());
          if (!ended.ok()) ++failures;
          mine.pop_back();
        }
        auto grant = take_slots(*store, reader, kAcme, kMaximum, 1 + static_cast<std::int64_t>(rng() % 3),
                                "t" + std::to_string(t) + "-" + std::to_string(d), options, env);
        if (!grant.ok()) {
          ++failures;
          continue;
        }
        std::vector<LaunchedRunner> launches;
        for (std::int64_t i = 0; i < grant->allowed; ++i) {
          launches.push_back({instance_id(static_cast<unsigned>(0x10000 + t * 1000 + d * 10 + i)), kAcme,
                              env->wall_ms() / 1000});
          mine.push_back(launches.back().instance_id);
        }
        if (count_failures(register_launches(*store, launches, {"prod"}, env->wall_ms())) != 0) ++failures;
        granted += grant->allowed;
        auto now = store->count_active(kAcme.str());
        if (!now.ok() || *now > kMaximum) ++over_maximum;
        auto released = release_slots(*store, *grant, grant->allowed, options, env->wall_ms());
        if (!released.ok() || *released != ReleaseOutcome::kReleased) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(over_maximum.load(), 0);
  EXPECT_LE(*setup->count_active(kAcme.str()), kMaximum);
  EXPECT_GT(granted.load(), kMaximum) << "runners ended and their slots were taken again";
}

// Pins the requests docs/table-contract.md (sections 7 and 8) documents for registration and slots.
TEST(SlotsOnDynalite, SendsExactlyTheContractRequests) {
  auto dynalite = Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  std::string table = "ghr-runner-count-cache";
  AwsClient admin = (*dynalite)->client();
  ASSERT_TRUE(delete_table(admin, table).ok());
  ASSERT_TRUE(testing::create_runner_table(admin, table).ok());
  VirtualEnv env(1'764'260'400'000, 9);
  DynamoStore writer((*dynalite)->client(), DynamoStoreOptions{table});
  make_fresh(writer, env.wall_ms());

  auto requests = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  auto http = std::make_shared<testing::RecordingHttpClient>();
  http->requests = requests;
  http->mu = std::make_shared<std::mutex>();
  DynamoStore store(AwsClient(http, (*dynalite)->endpoint(), "dynamodb", "us-east-1", AwsCredentials{"fake", "fake", ""}),
                    DynamoStoreOptions{table});
  FakeEc2 ec2;
  RunnerCountReader reader(store, ec2, ReaderOptions{}, &env);
  auto grant = take_slots(store, reader, kAcme, 20, 2, "3f2a9c0d7e1b4a56", {}, &env);
  ASSERT_TRUE(grant.ok()) << grant.status().to_string();
  ASSERT_EQ(grant->allowed, 2);
  const std::vector<LaunchedRunner> launches = {{"i-0a1b2c3d4e5f60718", kAcme, 1'764'260'399}};
  env.advance(1500);
  ASSERT_EQ(count_failures(register_launches(store, launches, {"prod"}, env.wall_ms())), 0);
  ASSERT_EQ(*release_slots(store, *grant, 1, {}, env.wall_ms()), ReleaseOutcome::kReleased);
  // A later decision, once the first entry has run out for lease_ms: its grant removes it.
  env.advance(38'500);
  auto later = take_slots(store, reader, kAcme, 20, 2, "77c01d5e9a3b2f80", {}, &env);
  ASSERT_TRUE(later.ok()) << later.status().to_string();
  ASSERT_EQ(later->allowed, 2);
  ASSERT_EQ(*release_slots(store, kAcme, "77c01d5e9a3b2f80", 0, {}, env.wall_ms()), ReleaseOutcome::kReleased);

  ASSERT_EQ(requests->size(), 11u);
  // Reads of section 4, lease read, first grant, registration, release, later grant, release of nothing.
  const std::string lease_read = "{\"ConsistentRead\":true,\"Key\":{\"pk\":{\"S\":\"#lease#prod#Org#acme\"}},\"TableName\":\"ghr-runner-count-cache\"}";
  EXPECT_EQ((*requests)[2].first, "DynamoDB_20120810.GetItem");
  EXPECT_EQ((*requests)[2].second, lease_read);
  EXPECT_EQ((*requests)[3].first, "DynamoDB_20120810.UpdateItem");
  EXPECT_EQ((*requests)[3].second, "{\"ConditionExpression\":\"attribute_not_exists(#version)\",\"ExpressionAttributeNames\":{\"#grants\":\"grants\",\"#ttl\":\"ttl\",\"#version\":\"version\"},\"ExpressionAttributeValues\":{\":grants\":{\"M\":{\"3f2a9c0d7e1b4a56\":{\"M\":{\"count\":{\"N\":\"2\"},\"until_ms\":{\"N\":\"1764260430000\"}}}}},\":next\":{\"N\":\"1\"},\":ttl\":{\"N\":\"1764346830\"}},\"Key\":{\"pk\":{\"S\":\"#lease#prod#Org#acme\"}},\"TableName\":\"ghr-runner-count-cache\",\"UpdateExpression\":\"SET #version = :next, #grants = :grants, #ttl = :ttl\"}");
  EXPECT_EQ((*requests)[4].second, "{\"ConditionExpression\":\"attribute_not_exists(#pk) OR (#unresolved = :true AND #state IN (:pending, :running))\",\"ExpressionAttributeNames\":{\"#active\":\"active_key\",\"#env\":\"env\",\"#order\":\"order\",\"#owner\":\"owner\",\"#pk\":\"pk\",\"#rkey\":\"rkey\",\"#runner\":\"runner\",\"#state\":\"state\",\"#ttl\":\"ttl\",\"#type\":\"type\",\"#unresolved\":\"unresolved\",\"#updated\":\"updated_ms\"},\"ExpressionAttributeValues\":{\":env\":{\"S\":\"prod\"},\":order\":{\"N\":\"14114083192\"},\":owner\":{\"S\":\"acme\"},\":pending\":{\"S\":\"pending\"},\":rkey\":{\"S\":\"prod#Org#acme\"},\":runner\":{\"BOOL\":true},\":running\":{\"S\":\"running\"},\":state\":{\"S\":\"pending\"},\":true\":{\"BOOL\":true},\":type\":{\"S\":\"Org\"},\":updated\":{\"N\":\"1764260401500\"}},\"Key\":{\"pk\":{\"S\":\"i-0a1b2c3d4e5f60718\"}},\"TableName\":\"ghr-runner-count-cache\",\"UpdateExpression\":\"SET #state = if_not_exists(#state, :state), #order = if_not_exists(#order, :order), #updated = :updated, #runner = :runner, #env = :env, #type = :type, #owner = :owner, #rkey = :rkey, #active = :rkey REMOVE #unresolved, #ttl\"}");
  EXPECT_EQ((*requests)[5].second, "{\"ConditionExpression\":\"attribute_exists(#grants.#holder)\",\"ExpressionAttributeNames\":{\"#grants\":\"grants\",\"#holder\":\"3f2a9c0d7e1b4a56\"},\"ExpressionAttributeValues\":{\":entry\":{\"M\":{\"count\":{\"N\":\"1\"},\"until_ms\":{\"N\":\"1764260403500\"}}}},\"Key\":{\"pk\":{\"S\":\"#lease#prod#Org#acme\"}},\"TableName\":\"ghr-runner-count-cache\",\"UpdateExpression\":\"SET #grants.#holder = :entry\"}");
  EXPECT_EQ((*requests)[8].second, lease_read);
  EXPECT_EQ((*requests)[9].second, "{\"ConditionExpression\":\"#version = :version\",\"ExpressionAttributeNames\":{\"#grants\":\"grants\",\"#holder\":\"77c01d5e9a3b2f80\",\"#r0\":\"3f2a9c0d7e1b4a56\",\"#ttl\":\"ttl\",\"#version\":\"version\"},\"ExpressionAttributeValues\":{\":entry\":{\"M\":{\"count\":{\"N\":\"2\"},\"until_ms\":{\"N\":\"1764260470000\"}}},\":next\":{\"N\":\"2\"},\":ttl\":{\"N\":\"1764346870\"},\":version\":{\"N\":\"1\"}},\"Key\":{\"pk\":{\"S\":\"#lease#prod#Org#acme\"}},\"TableName\":\"ghr-runner-count-cache\",\"UpdateExpression\":\"SET #version = :next, #grants.#holder = :entry, #ttl = :ttl REMOVE #grants.#r0\"}");
  EXPECT_EQ((*requests)[10].second, "{\"ConditionExpression\":\"attribute_exists(#grants.#holder)\",\"ExpressionAttributeNames\":{\"#grants\":\"grants\",\"#holder\":\"77c01d5e9a3b2f80\"},\"Key\":{\"pk\":{\"S\":\"#lease#prod#Org#acme\"}},\"TableName\":\"ghr-runner-count-cache\",\"UpdateExpression\":\"REMOVE #grants.#holder\"}");
  auto lease = writer.get_lease(kAcme.str());
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->version, 2);
  EXPECT_TRUE(lease->grants.empty());
}

}  // namespace
}  // namespace rcc
