// Regression tests: one per failure the competing designs have, named after the failure.
#include "core/counter.h"

#include <functional>
#include <memory>

#include <gtest/gtest.h>

#include "testing/fakes.h"

namespace rcc {
namespace {

using testing::FakeTagSource;
using testing::FaultyStore;
using testing::runner_tags;

constexpr const char* kKey = "prod#Org#acme";

class CounterTest : public ::testing::Test {
 protected:
  CounterTest() {
    tags_.tags["i-0000000000000000a"] = runner_tags("prod", "Org", "acme");
    tags_.tags["i-0000000000000000b"] = runner_tags("prod", "Org", "acme");
    tags_.tags["i-0000000000000000c"] = Tags{{"Name", "bastion"}};
    tags_.tags["i-0000000000000000d"] = runner_tags("staging", "Org", "acme");
  }

  Result<ApplyReport> deliver(const std::string& id, InstanceState state, std::int64_t time_s) {
    return apply_event(store_, tags_, InstanceEvent{id, state, time_s, "evt"}, options_, now_ms_);
  }

  ApplyReport must_deliver(const std::string& id, InstanceState state, std::int64_t time_s) {
    auto report = deliver(id, state, time_s);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    return report.ok() ? *report : ApplyReport{};
  }

  std::int64_t count(const std::string& key = kKey) { return *store_.count_active(key); }

  FaultyStore store_;
  FakeTagSource tags_;
  CounterOptions options_{{"prod"}, 86400};
  std::int64_t now_ms_ = 1'700'000'000'000;
};

TEST_F(CounterTest, PendingThenRunningCountsOnce) {
  must_deliver("i-0000000000000000a", InstanceState::kPending, 100);
  EXPECT_EQ(count(), 1);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kRunning, 102).outcome, EventOutcome::kApplied);
  EXPECT_EQ(count(), 1);
}

TEST_F(CounterTest, ShuttingDownThenTerminatedSubtractsOnce) {
  must_deliver("i-0000000000000000a", InstanceState::kRunning, 100);
  must_deliver("i-0000000000000000b", InstanceState::kRunning, 100);
  EXPECT_EQ(count(), 2);
  must_deliver("i-0000000000000000a", InstanceState::kShuttingDown, 200);
  EXPECT_EQ(count(), 1);
  must_deliver("i-0000000000000000a", InstanceState::kTerminated, 230);
  EXPECT_EQ(count(), 1);
}

TEST_F(CounterTest, DuplicateDeliveryIsANoOp) {
  must_deliver("i-0000000000000000a", InstanceState::kPending, 100);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kPending, 100).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(count(), 1);
  must_deliver("i-0000000000000000a", InstanceState::kShuttingDown, 200);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kShuttingDown, 200).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(tags_.lookups["i-0000000000000000a"], 1);
}

TEST_F(CounterTest, TerminatedBeforePendingAndRunningDoesNotCountTheDeadInstance) {
  must_deliver("i-0000000000000000a", InstanceState::kTerminated, 300);
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kPending, 100).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kRunning, 105).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(count(), 0);
}

TEST_F(CounterTest, TerminatedOfAnInstanceEc2ForgotIsRecordedWithoutTags) {
  auto report = must_deliver("i-0000000000000000e", InstanceState::kTerminated, 300);
  EXPECT_TRUE(report.unknown_tags);
  EXPECT_EQ(report.outcome, EventOutcome::kNonRunner);
  auto late = must_deliver("i-0000000000000000e", InstanceState::kRunning, 200);
  EXPECT_EQ(tags_.lookups["i-0000000000000000e"], 1);
  EXPECT_TRUE(store_.inner.active_counts().empty());
  (void)late;
}

TEST_F(CounterTest, PendingOfAnInstanceTheSourceDoesNotKnowFailsInsteadOfRecordingIt) {
  auto report = deliver("i-0000000000000000e", InstanceState::kPending, 300);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().retryable());
  EXPECT_EQ(*store_.get("i-0000000000000000e"), std::nullopt);
}

TEST_F(CounterTest, RunningWithoutPendingCounts) {
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kRunning, 100).outcome, EventOutcome::kApplied);
  EXPECT_EQ(count(), 1);
}

TEST_F(CounterTest, RunningBeforePendingCountsOnce) {
  must_deliver("i-0000000000000000a", InstanceState::kRunning, 101);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kPending, 100).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(count(), 1);
}

TEST_F(CounterTest, StopThenStartCountsAgain) {
  must_deliver("i-0000000000000000a", InstanceState::kRunning, 100);
  must_deliver("i-0000000000000000a", InstanceState::kStopping, 200);
  must_deliver("i-0000000000000000a", InstanceState::kStopped, 230);
  EXPECT_EQ(count(), 0);
  must_deliver("i-0000000000000000a", InstanceState::kPending, 400);
  EXPECT_EQ(count(), 1);
  must_deliver("i-0000000000000000a", InstanceState::kRunning, 410);
  EXPECT_EQ(count(), 1);
  // The old stop delivered again after the restart changes nothing.
  must_deliver("i-0000000000000000a", InstanceState::kStopped, 230);
  EXPECT_EQ(count(), 1);
}

TEST_F(CounterTest, FiftyLaunchesInTheSameSecondForOneOwnerCountFifty) {
  for (int i = 0; i < 50; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "i-%017x", 0x1000 + i);
    tags_.tags[id] = runner_tags("prod", "Org", "acme");
  }
  for (int pass = 0; pass < 2; ++pass) {  // pending for all, then running for all, all in second 100
    for (int i = 0; i < 50; ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "i-%017x", 0x1000 + i);
      must_deliver(id, pass == 0 ? InstanceState::kPending : InstanceState::kRunning, 100);
    }
  }
  EXPECT_EQ(count(), 50);
}

TEST_F(CounterTest, TagLookupFailureFailsTheCallAndARetryCountsCorrectly) {
  tags_.fail_next = 1;
  auto failed = deliver("i-0000000000000000a", InstanceState::kPending, 100);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kThrottled);
  EXPECT_TRUE(failed.status().retryable());
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(*store_.get("i-0000000000000000a"), std::nullopt) << "a failed lookup must not record anything";

  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kPending, 100).outcome, EventOutcome::kApplied);
  EXPECT_EQ(count(), 1);
}

TEST_F(CounterTest, StoreFailureIsAnErrorNotADuplicate) {
  must_deliver("i-0000000000000000a", InstanceState::kPending, 100);
  store_.fail_writes = 1;
  auto failed = deliver("i-0000000000000000a", InstanceState::kShuttingDown, 200);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_EQ(count(), 1);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kShuttingDown, 200).outcome, EventOutcome::kApplied);
  EXPECT_EQ(count(), 0);
}

TEST_F(CounterTest, LostWriteResponseRetriedCountsOnce) {
  store_.lose_response_of = 2;  // new instance: known-runner write, read, then the creating write is lost
  ASSERT_FALSE(deliver("i-0000000000000000a", InstanceState::kRunning, 100).ok());
  EXPECT_EQ(count(), 1) << "the write landed although its answer was lost";
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kRunning, 100).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(count(), 1);
  store_.lose_response_of = 1;  // known runner: its one write is lost
  ASSERT_FALSE(deliver("i-0000000000000000a", InstanceState::kTerminated, 200).ok());
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kTerminated, 200).outcome,
            EventOutcome::kDuplicateOrLate);
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(tags_.lookups["i-0000000000000000a"], 1);
}

TEST_F(CounterTest, ReadFailureIsReported) {
  store_.fail_reads = 1;
  auto failed = deliver("i-0000000000000000a", InstanceState::kRunning, 100);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kThrottled);
}

TEST_F(CounterTest, NonRunnerCostsOneTagLookupInItsLife) {
  for (auto state : {InstanceState::kPending, InstanceState::kRunning, InstanceState::kStopping,
                     InstanceState::kStopped}) {
    EXPECT_EQ(must_deliver("i-0000000000000000c", state, 100 + static_cast<int>(state)).outcome,
              EventOutcome::kNonRunner);
  }
  must_deliver("i-0000000000000000c", InstanceState::kPending, 200);
  must_deliver("i-0000000000000000c", InstanceState::kTerminated, 300);
  EXPECT_EQ(tags_.lookups["i-0000000000000000c"], 1);
  EXPECT_TRUE(store_.inner.active_counts().empty());
}

TEST_F(CounterTest, RunnerOfAnotherEnvironmentIsANonRunner) {
  EXPECT_EQ(must_deliver("i-0000000000000000d", InstanceState::kRunning, 100).outcome, EventOutcome::kNonRunner);
  EXPECT_EQ(count("staging#Org#acme"), 0);
}

// Regression: an item ordered in 2100 (an event so dated, accepted before event times were bounded) made
// the runner's real terminated event "duplicate_or_late", and the cache counted it forever.
TEST_F(CounterTest, AnItemPinnedInTheFutureYieldsToTheRealEvent) {
  const std::int64_t year_2100_s = 4'102'444'800;
  ASSERT_TRUE(store_.apply(make_transition(WriteMode::kUpsert, "i-0000000000000000a", InstanceState::kRunning,
                                           year_2100_s, now_ms_, 86400, InstanceIdentity{true, *RunnerKey::parse(kKey)}))
                  .ok());
  ASSERT_EQ(count(), 1);
  EXPECT_EQ(must_deliver("i-0000000000000000a", InstanceState::kTerminated, now_ms_ / 1000).outcome,
            EventOutcome::kApplied);
  EXPECT_EQ(count(), 0);
  // An event dated 2100 itself is refused, so it cannot pin the item again.
  auto refused = deliver("i-0000000000000000a", InstanceState::kRunning, year_2100_s);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
}

TEST_F(CounterTest, KnownRunnerCostsOneRoundTripAndNewOneThree) {
  auto first = must_deliver("i-0000000000000000a", InstanceState::kPending, 100);
  EXPECT_TRUE(first.tag_lookup);
  EXPECT_EQ(first.store_round_trips, 3);
  EXPECT_EQ(first.key, std::optional<std::string>(kKey));
  auto second = must_deliver("i-0000000000000000a", InstanceState::kRunning, 101);
  EXPECT_FALSE(second.tag_lookup);
  EXPECT_EQ(second.store_round_trips, 1);
  EXPECT_EQ(second.key, std::optional<std::string>(kKey)) << "the key is known on the usual path too";
  auto duplicate = must_deliver("i-0000000000000000a", InstanceState::kRunning, 101);
  EXPECT_EQ(duplicate.store_round_trips, 2);
  EXPECT_EQ(duplicate.key, std::optional<std::string>(kKey));
}

// A store where another writer acts between apply_event's steps: `before_get` runs before every item read
// (after the write that read follows) and `before_apply` before every write, each on the current table.
class InterleavingStore : public Store {
 public:
  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override {
    ++writes;
    if (before_apply) before_apply(*table);
    return table->apply(t, key);
  }
  Result<std::optional<InstanceItem>> get(std::string_view id) override {
    ++reads;
    if (before_get) before_get(*table);
    return table->get(id);
  }
  Result<std::int64_t> count_active(std::string_view key) override { return table->count_active(key); }
  Result<std::vector<ActiveEntry>> list_active(std::string_view prefix) override { return table->list_active(prefix); }
  Result<std::vector<InstanceItem>> list_items() override { return table->list_items(); }
  Result<std::optional<MetaItem>> get_meta() override { return table->get_meta(); }
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override {
    return table->stamp_heartbeat(now_ms, environments);
  }
  Status record_reconcile(const ReconcileReport& r) override { return table->record_reconcile(r); }
  Result<SlotLease> get_lease(std::string_view key) override { return table->get_lease(key); }
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override {
    return table->grant_slots(key, expected_version, holder, entry, removals, ttl_s);
  }
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override {
    return table->settle_grant(key, holder, entry);
  }

  std::unique_ptr<MemoryStore> table = std::make_unique<MemoryStore>();
  std::function<void(MemoryStore&)> before_apply;
  std::function<void(MemoryStore&)> before_get;
  int writes = 0;
  int reads = 0;
};

// Another writer's event for `id`: pending at t=50 s, a runner of prod#Org#acme.
void other_writer_creates(MemoryStore& table, const std::string& id) {
  auto created = table.apply(make_transition(WriteMode::kUpsert, id, InstanceState::kPending, 50, 1000, 86400,
                                             InstanceIdentity{true, RunnerKey{"prod", "Org", "acme"}}));
  ASSERT_TRUE(created.ok());
}

// The known-runner write misses (no item yet); before the read, another writer creates the item with an
// older observation: the event would now apply, so apply_event starts over and its write lands, without
// asking the tag source.
TEST(CounterConcurrentWriters, ItemCreatedBetweenWriteAndReadStartsOver) {
  InterleavingStore store;
  FakeTagSource tags;
  const std::string id = "i-0000000000000000a";
  bool created = false;
  store.before_get = [&](MemoryStore& table) {
    if (!created) other_writer_creates(table, id);
    created = true;
  };
  auto report = apply_event(store, tags, InstanceEvent{id, InstanceState::kRunning, 100, "evt"},
                            CounterOptions{{"prod"}, 86400}, 1'700'000'000'000);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->outcome, EventOutcome::kApplied);
  EXPECT_FALSE(report->tag_lookup);
  EXPECT_EQ(report->store_round_trips, 3);  // write (missed), read, write (applied)
  EXPECT_EQ(store.writes, 2);
  EXPECT_EQ(store.reads, 1);
  auto item = store.table->get(id);
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->state, InstanceState::kRunning);
  EXPECT_EQ(*store.table->count_active(kKey), 1);
}

// An item that is gone at every write and back (older) at every read: apply_event gives up after its
// bounded passes with a retryable error instead of looping, and nothing wrong is recorded.
TEST(CounterConcurrentWriters, ItemThatKeepsChangingIsARetryableFailure) {
  InterleavingStore store;
  FakeTagSource tags;
  const std::string id = "i-0000000000000000a";
  store.before_apply = [](MemoryStore& table) { table = MemoryStore(); };
  store.before_get = [&](MemoryStore& table) { other_writer_creates(table, id); };
  auto report = apply_event(store, tags, InstanceEvent{id, InstanceState::kRunning, 100, "evt"},
                            CounterOptions{{"prod"}, 86400}, 1'700'000'000'000);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().retryable());
  EXPECT_NE(report.status().message().find("kept changing"), std::string::npos) << report.status().message();
  EXPECT_EQ(store.reads, 3);  // one read per pass, three passes
  EXPECT_TRUE(tags.lookups.empty());
}

}  // namespace
}  // namespace rcc
