#include "rcc/registration.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "rcc/env.h"
#include "testing/fakes.h"
#include "core/counter.h"
#include "app/reconcile.h"
#include "app/registration_property.h"

namespace rcc {
namespace {

using testing::FakeEc2;
using testing::FakeTagSource;
using testing::FaultyStore;
using testing::instance_id;

constexpr std::int64_t kNowMs = 1'700'000'000'000;
const RunnerKey kAcme{"prod", "Org", "acme"};
const RegistrationOptions kProd{"prod"};

LaunchedRunner launch(unsigned n, std::int64_t launch_s = 1000, RunnerKey key = kAcme) {
  return LaunchedRunner{instance_id(n), std::move(key), launch_s};
}

TEST(RegisterLaunches, RecordsActivePendingRunnersWithTheirKey) {
  MemoryStore store;
  auto results = register_launches(store, {launch(1), launch(2, 1001)}, kProd, kNowMs);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
    EXPECT_EQ(r.outcome, RegistrationOutcome::kRegistered);
  }
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 2);
  const InstanceItem item = **store.get(instance_id(2));
  EXPECT_EQ(item.state, InstanceState::kPending);
  EXPECT_EQ(item.order, 1001 * 8);
  EXPECT_EQ(item.updated_ms, kNowMs);
  EXPECT_EQ(item.identity, (InstanceIdentity{true, kAcme}));
  EXPECT_EQ(store.writes(), 2) << "one write per instance";
}

TEST(RegisterLaunches, ReportsEveryFailurePerInstanceAndGoesOn) {
  FaultyStore store;
  store.fail_writes = 1;  // the first valid launch's write is lost
  const std::vector<LaunchedRunner> launches = {
      launch(1),                                          // store error
      launch(2),                                          // registered
      LaunchedRunner{"", kAcme, 1000},                    // no id
      launch(3, 1000, RunnerKey{"staging", "Org", "acme"}),  // another environment
      launch(4, 1000, RunnerKey{"prod", "Team", "acme"}),    // bad type
      launch(5, 0),                                       // no launch time
      LaunchedRunner{"#meta", kAcme, 1000},               // one of the table's own items
  };
  auto results = register_launches(store, launches, kProd, kNowMs);
  ASSERT_EQ(results.size(), launches.size());
  EXPECT_EQ(results[0].status.code(), Code::kUnavailable) << results[0].status.to_string();
  EXPECT_NE(results[0].status.message().find(instance_id(1)), std::string::npos) << results[0].status.message();
  EXPECT_TRUE(results[1].status.ok());
  for (std::size_t i = 2; i < results.size(); ++i) {
    EXPECT_EQ(results[i].status.code(), Code::kInvalidArgument) << i << ": " << results[i].status.to_string();
  }
  EXPECT_EQ(count_failures(results), 6);
  EXPECT_EQ(store.writes, 2) << "invalid launches are not written";
  EXPECT_EQ(*store.inner.count_active("prod#Org#acme"), 1);
}

TEST(RegisterLaunches, AnyEnvironmentWhenNoneIsSet) {
  MemoryStore store;
  auto results = register_launches(store, {launch(1, 1000, RunnerKey{"staging", "Repo", "acme/app"})}, {}, kNowMs);
  ASSERT_TRUE(results[0].status.ok()) << results[0].status.to_string();
  EXPECT_EQ(*store.count_active("staging#Repo#acme/app"), 1);
}

TEST(RegisterLaunches, AlreadyKnownIsNotAFailureAndNeverRevivesATerminatedInstance) {
  MemoryStore store;
  FakeTagSource tags;
  tags.tags[instance_id(1)] = testing::runner_tags("prod", "Org", "acme");
  // The instance failed at boot and its events came first.
  for (auto state : {InstanceState::kPending, InstanceState::kShuttingDown, InstanceState::kTerminated}) {
    ASSERT_TRUE(apply_event(store, tags, InstanceEvent{instance_id(1), state, 1001, "e"}, {{"prod"}, 86400}, kNowMs).ok());
  }
  auto results = register_launches(store, {launch(1)}, kProd, kNowMs + 5);
  ASSERT_TRUE(results[0].status.ok());
  EXPECT_EQ(results[0].outcome, RegistrationOutcome::kAlreadyKnown);
  EXPECT_EQ(count_failures(results), 0);
  EXPECT_EQ((*store.get(instance_id(1)))->state, InstanceState::kTerminated);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 0);
}

TEST(RegisterLaunches, AnEventForARegisteredRunnerNeedsNoTagLookup) {
  MemoryStore store;
  FakeTagSource tags;  // knows nothing: a lookup would fail the event
  ASSERT_TRUE(register_launches(store, {launch(1)}, kProd, kNowMs)[0].status.ok());
  const CounterOptions counter{{"prod"}, 86400};
  auto pending = apply_event(store, tags, InstanceEvent{instance_id(1), InstanceState::kPending, 1000, "e"}, counter,
                             kNowMs + 1);
  ASSERT_TRUE(pending.ok()) << pending.status().to_string();
  EXPECT_EQ(pending->outcome, EventOutcome::kDuplicateOrLate) << "same observation as the registration";
  EXPECT_FALSE(pending->tag_lookup);
  auto running = apply_event(store, tags, InstanceEvent{instance_id(1), InstanceState::kRunning, 1003, "e"}, counter,
                             kNowMs + 2);
  ASSERT_TRUE(running.ok()) << running.status().to_string();
  EXPECT_EQ(running->outcome, EventOutcome::kApplied);
  EXPECT_FALSE(running->tag_lookup);
  EXPECT_EQ(running->store_round_trips, 1) << "the known-runner write alone";
  EXPECT_TRUE(tags.lookups.empty());
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 1);
}

TEST(RegisterLaunches, ARegisteredInstanceEc2NeverReportsIsRepairedByReconcileAfterItsGrace) {
  MemoryStore store;
  FakeEc2 ec2;  // the launch failed after CreateFleet answered: EC2 does not know the instance
  ASSERT_TRUE(register_launches(store, {launch(1, kNowMs / 1000)}, kProd, kNowMs)[0].status.ok());
  VirtualEnv clock(kNowMs + 60'000);
  ReconcileOptions options;
  options.environments = {"prod"};
  options.grace_ms = 120'000;
  auto early = reconcile(store, ec2, options, &clock);
  ASSERT_TRUE(early.ok()) << early.status().to_string();
  EXPECT_EQ(early->report.left_for_grace, 1);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 1) << "within the grace window the registration stands";

  clock.advance(61'000);
  auto late = reconcile(store, ec2, options, &clock);
  ASSERT_TRUE(late.ok()) << late.status().to_string();
  EXPECT_EQ(late->report.removed, 1);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 0);
  EXPECT_EQ((*store.get(instance_id(1)))->state, InstanceState::kTerminated);
}

// Property: registration and events in every order (seeded; a failure names its seed).
TEST(RegisterLaunchesProperty, RegistrationAndEventsInAnyOrderOnMemoryStore) {
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    MemoryStore store;
    testing::check_registration_against_events(store, seed, 6);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(RegisterLaunchesProperty, RegistrationAndEventsInAnyOrderWithLookupsOff) {
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    MemoryStore store;
    testing::check_registration_against_events(store, seed, 6, /*lookup_unregistered=*/false);
    if (::testing::Test::HasFailure()) return;
  }
}

// ---- LOOKUP_UNREGISTERED=false: the counter records an unregistered instance without asking EC2 ----

const CounterOptions kLookupsOff{{"prod"}, 86400, /*lookup_unregistered=*/false};

Result<ApplyReport> deliver(Store& store, TagSource& tags, unsigned n, InstanceState state, std::int64_t time_s) {
  return apply_event(store, tags, InstanceEvent{instance_id(n), state, time_s, "e"}, kLookupsOff, kNowMs);
}

TEST(LookupsOff, AnInstanceNobodyRegisteredCostsNoLookupAndIsNotCounted) {
  MemoryStore store;
  FakeTagSource tags;  // knows nothing: a lookup would fail the event
  for (auto state : {InstanceState::kPending, InstanceState::kRunning}) {
    auto report = deliver(store, tags, 1, state, state == InstanceState::kPending ? 1000 : 1020);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->outcome, EventOutcome::kUnregistered);
    EXPECT_FALSE(report->tag_lookup);
  }
  EXPECT_TRUE(tags.lookups.empty());
  const auto item = *store.get(instance_id(1));
  ASSERT_TRUE(item.has_value());
  EXPECT_TRUE(item->identity.unresolved);
  EXPECT_FALSE(item->identity.runner);
  EXPECT_EQ(item->state, InstanceState::kRunning);
  EXPECT_TRUE(item->ttl_s.has_value()) << "an unresolved item expires like a non-runner";
  EXPECT_TRUE((*store.list_active("")).empty());
}

TEST(LookupsOff, ARegistrationClaimsAnUnresolvedActiveItemAndKeepsItsObservation) {
  MemoryStore store;
  FakeTagSource tags;
  ASSERT_TRUE(deliver(store, tags, 1, InstanceState::kPending, 1000).ok());
  ASSERT_TRUE(deliver(store, tags, 1, InstanceState::kRunning, 1020).ok());
  auto results = register_launches(store, {launch(1, 999)}, kProd, kNowMs + 5);
  ASSERT_TRUE(results[0].status.ok()) << results[0].status.to_string();
  EXPECT_EQ(results[0].outcome, RegistrationOutcome::kRegistered);
  const auto item = *store.get(instance_id(1));
  EXPECT_TRUE(item->identity.runner);
  EXPECT_FALSE(item->identity.unresolved);
  EXPECT_EQ(item->state, InstanceState::kRunning) << "the counter's newer observation stays";
  EXPECT_EQ(item->order, event_order(1020, InstanceState::kRunning));
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 1);
  // Its next event is a known runner's: one write, no lookup.
  auto ending = deliver(store, tags, 1, InstanceState::kShuttingDown, 1400);
  ASSERT_TRUE(ending.ok());
  EXPECT_EQ(ending->outcome, EventOutcome::kApplied);
  EXPECT_EQ(ending->store_round_trips, 1);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 0);
  EXPECT_TRUE(tags.lookups.empty());
}

TEST(LookupsOff, ARegistrationNeverClaimsAFinishedUnresolvedItem) {
  MemoryStore store;
  FakeTagSource tags;
  for (auto state : {InstanceState::kPending, InstanceState::kShuttingDown, InstanceState::kTerminated}) {
    ASSERT_TRUE(deliver(store, tags, 1, state, 1001).ok());
  }
  auto results = register_launches(store, {launch(1)}, kProd, kNowMs + 5);
  ASSERT_TRUE(results[0].status.ok());
  EXPECT_EQ(results[0].outcome, RegistrationOutcome::kAlreadyKnown);
  EXPECT_EQ((*store.get(instance_id(1)))->state, InstanceState::kTerminated);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 0);
}

TEST(LookupsOff, ReconcileCountsAnUnregisteredRunnerWithoutWaitingForGrace) {
  MemoryStore store;
  FakeTagSource tags;
  ASSERT_TRUE(deliver(store, tags, 1, InstanceState::kRunning, kNowMs / 1000).ok());
  FakeEc2 ec2;
  ec2.instances[instance_id(1)] =
      Ec2Instance{instance_id(1), InstanceState::kRunning, testing::runner_tags("prod", "Org", "acme"), kNowMs};
  VirtualEnv clock(kNowMs + 1000);  // well inside the grace window of the event just recorded
  ReconcileOptions options;
  options.environments = {"prod"};
  options.grace_ms = 120'000;
  auto result = reconcile(store, ec2, options, &clock);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->report.added, 1);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 1);
  EXPECT_FALSE((*store.get(instance_id(1)))->identity.unresolved);
}

// Every order of one short life (boot, run, fail, terminate) and its registration, each delivered once.
TEST(RegisterLaunchesProperty, EveryOrderOfOneLifeAndItsRegistration) {
  const std::string id = instance_id(7);
  const std::vector<InstanceEvent> life = {{id, InstanceState::kPending, 1000, "e"},
                                           {id, InstanceState::kRunning, 1002, "e"},
                                           {id, InstanceState::kShuttingDown, 1050, "e"},
                                           {id, InstanceState::kTerminated, 1050, "e"}};
  std::vector<int> order = {0, 1, 2, 3, 4};  // 4 is the registration
  int orders = 0;
  do {
    ++orders;
    SCOPED_TRACE("order " + std::to_string(orders));
    MemoryStore store;
    FakeTagSource tags;
    tags.tags[id] = testing::runner_tags("prod", "Org", "acme");
    bool terminated = false;
    for (int step : order) {
      if (step == 4) {
        ASSERT_TRUE(register_launches(store, {launch(7, 999)}, kProd, kNowMs)[0].status.ok());
      } else {
        ASSERT_TRUE(apply_event(store, tags, life[step], {{"prod"}, 86400}, kNowMs).ok());
      }
      const InstanceState state = (*store.get(id))->state;
      if (terminated) {
        ASSERT_EQ(state, InstanceState::kTerminated) << "revived";
      }
      terminated = state == InstanceState::kTerminated;
    }
    EXPECT_EQ((*store.get(id))->state, InstanceState::kTerminated);
    EXPECT_EQ(*store.count_active("prod#Org#acme"), 0);
    EXPECT_EQ(tags.lookups.count(id) ? tags.lookups.at(id) : 0, order.front() == 4 ? 0 : 1);
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 120);
}

}  // namespace
}  // namespace rcc
