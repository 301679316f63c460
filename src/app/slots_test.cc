#include "rcc/slots.h"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "core/counter.h"
#include "core/forwarding_store.h"
#include "rcc/registration.h"

namespace rcc {
namespace {

using testing::FakeEc2;
using testing::FaultyStore;
using testing::instance_id;
using testing::LockedStore;

constexpr std::int64_t kStartMs = 1'700'000'000'000;
const RunnerKey kAcme{"prod", "Org", "acme"};

// Runs `race` when set, clearing it first, so that a race that calls back into the store runs only once.
void run_once(std::function<void()>& race) {
  if (!race) return;
  auto run = std::move(race);
  race = nullptr;
  run();
}

// A store that runs `before_grant` (once, then clears it) before each grant write: another decision
// granting between a decision's lease read and its write; and `before_lease_read` (once) before a lease
// read: another decision releasing between a decision's count and its lease read.
class RacingStore : public ForwardingStore {
 public:
  explicit RacingStore(Store& inner) : ForwardingStore(inner) {}
  Result<SlotLease> get_lease(std::string_view key) override {
    ++lease_reads;
    run_once(before_lease_read);
    return inner().get_lease(key);
  }
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override {
    ++grant_writes;
    run_once(before_grant);
    return inner().grant_slots(key, expected_version, holder, entry, removals, ttl_s);
  }

  std::function<void()> before_grant;
  std::function<void()> before_lease_read;
  int lease_reads = 0;
  int grant_writes = 0;
};

// A table whose cache is fresh at kStartMs, with a reader on it.
class SlotsTest : public ::testing::Test {
 protected:
  SlotsTest() : reader_(store_, ec2_, ReaderOptions{}, &env_) {
    EXPECT_TRUE(store_.stamp_heartbeat(kStartMs, testing::kProdOnly).ok());
    ReconcileReport report;
    report.finished_ms = kStartMs;
    EXPECT_TRUE(store_.record_reconcile(report).ok());
  }

  void register_runners(unsigned first, int n) {
    std::vector<LaunchedRunner> launches;
    for (int i = 0; i < n; ++i) launches.push_back({instance_id(first + i), kAcme, kStartMs / 1000});
    for (const auto& r : register_launches(store_, launches, {"prod"}, env_.wall_ms())) {
      ASSERT_TRUE(r.status.ok()) << r.status.to_string();
    }
  }

  Result<SlotGrant> take(const std::string& holder, std::int64_t maximum, std::int64_t wanted,
                         SlotOptions options = {}) {
    return take_slots(store_, reader_, kAcme, maximum, wanted, holder, options, &env_);
  }

  SlotLease lease() { return *store_.get_lease(kAcme.str()); }

  VirtualEnv env_{kStartMs, 7};
  FaultyStore store_;
  FakeEc2 ec2_;
  RunnerCountReader reader_;
};

using Grants = std::map<std::string, GrantEntry, std::less<>>;

// Regression: entries were judged when the lease was read, so a release that settled and ran out between
// a decision's count and its lease read was in neither (found by the dynalite concurrency test with
// settle_ms = 0). Entries are judged at the count's time.
TEST_F(SlotsTest, AReleaseThatRunsOutBetweenTheCountAndTheLeaseReadStillCounts) {
  SlotOptions options;
  options.settle_ms = 0;  // a released entry runs out at once: only the count can show its launches
  auto first = take("first", 3, 2, options);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_EQ(first->allowed, 2);

  RacingStore racing(store_);
  RunnerCountReader reader(racing, ec2_, ReaderOptions{}, &env_);
  racing.before_lease_read = [&] {
    // After the second decision's count: the first registers its two runners and releases.
    env_.advance(5);
    register_runners(1, 2);
    ASSERT_EQ(*release_slots(store_, *first, 2, options, env_.wall_ms()), ReleaseOutcome::kReleased);
    env_.advance(5);
  };
  auto second = take_slots(racing, reader, kAcme, 3, 3, "second", options, &env_);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->count.count, 0) << "counted before the registrations";
  EXPECT_EQ(second->in_flight, 2) << "the first decision's entry was valid when the count was read";
  EXPECT_EQ(second->allowed, 1);
  EXPECT_LE(*store_.count_active(kAcme.str()) + second->allowed, 3);
}

TEST_F(SlotsTest, AllowsTheFreeSlotsUpToWhatIsWanted) {
  register_runners(1, 3);
  auto grant = take("a", 5, 10);
  ASSERT_TRUE(grant.ok()) << grant.status().to_string();
  EXPECT_EQ(grant->count.count, 3);
  EXPECT_EQ(grant->count.source, CountSource::kCache);
  EXPECT_EQ(grant->counted, 3);
  EXPECT_EQ(grant->allowed, 2);
  EXPECT_EQ(grant->attempts, 1);
  EXPECT_EQ(grant->conflicts, 0);
  EXPECT_EQ(grant->counts, 1);
  EXPECT_EQ(grant->version, 1);
  EXPECT_EQ(grant->expires_ms, kStartMs + SlotOptions{}.lease_ms);
  EXPECT_EQ(lease(), (SlotLease{1, Grants{{"a", {2, kStartMs + SlotOptions{}.lease_ms}}}}));
  // Nothing launched: the entry goes.
  ASSERT_EQ(*release_slots(store_, *grant, 0, {}, env_.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(lease(), (SlotLease{1, {}}));

  auto fewer = take("b", 5, 1);
  ASSERT_TRUE(fewer.ok());
  EXPECT_EQ(fewer->allowed, 1);
  EXPECT_EQ(fewer->version, 2);
  ASSERT_EQ(*release_slots(store_, *fewer, 0, {}, env_.wall_ms()), ReleaseOutcome::kReleased);

  const int writes = store_.writes;
  auto full = take("c", 2, 4);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->allowed, 0) << "never below zero when the key is over its maximum";
  EXPECT_EQ(full->expires_ms, 0);
  EXPECT_EQ(full->version, 2);
  EXPECT_EQ(store_.writes, writes) << "no free slot: nothing written";
  EXPECT_EQ(*release_slots(store_, *full, 0, {}, env_.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(store_.writes, writes) << "nothing to release";
}

TEST_F(SlotsTest, AGrantReservesItsSlotsUntilReleasedOrLeaseMs) {
  SlotOptions options;
  options.lease_ms = 30'000;
  auto a = take("a", 5, 2, options);  // not released yet: launching
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->allowed, 2);
  auto b = take("b", 5, 5, options);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->in_flight, 2);
  EXPECT_EQ(b->allowed, 3);
  EXPECT_EQ(b->attempts, 1) << "no waiting: a's grant is counted, not waited for";
  EXPECT_EQ(env_.slept_ms(), 0);
  auto c = take("c", 5, 5, options);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->in_flight, 5);
  EXPECT_EQ(c->allowed, 0);
  // a and b crashed: their grants stop counting at their expiry, not later.
  env_.advance(options.lease_ms - 1);
  EXPECT_EQ(take("d", 5, 5, options)->allowed, 0);
  env_.advance(1);
  auto e = take("e", 5, 5, options);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->in_flight, 0);
  EXPECT_EQ(e->allowed, 5);
  // Entries run out for lease_ms more are removed by the next grant.
  ASSERT_EQ(*release_slots(store_, *e, 0, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  env_.advance(options.lease_ms);
  auto f = take("f", 5, 1, options);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(lease().grants, (Grants{{"f", {1, env_.wall_ms() + options.lease_ms}}}));
  // a wakes up late: its entry is gone, the release is reported lost.
  EXPECT_EQ(*release_slots(store_, *a, 2, options, env_.wall_ms()), ReleaseOutcome::kLost);
  EXPECT_EQ(lease().grants.size(), 1u);
}

TEST_F(SlotsTest, AConflictingGrantDecidesAgainAtOnceAndBothStayWithinTheMaximum) {
  RacingStore racing(store_);
  // b reads the lease, then a grants 3 of 5 before b's write.
  racing.before_grant = [&] {
    auto a = take("a", 5, 3);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->allowed, 3);
  };
  auto b = take_slots(racing, reader_, kAcme, 5, 4, "b", {}, &env_);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->conflicts, 1);
  EXPECT_EQ(b->attempts, 2);
  EXPECT_EQ(b->counts, 1) << "the count was young enough to decide again on";
  EXPECT_EQ(b->in_flight, 3);
  EXPECT_EQ(b->allowed, 2);
  EXPECT_EQ(b->version, 2);
  EXPECT_EQ(racing.lease_reads, 2);
  EXPECT_EQ(racing.grant_writes, 2);
  EXPECT_EQ(env_.slept_ms(), 0) << "no pause after a conflict";
  const std::int64_t until = env_.wall_ms() + SlotOptions{}.lease_ms;
  EXPECT_EQ(lease(), (SlotLease{2, Grants{{"a", {3, until}}, {"b", {2, until}}}}));
}

TEST_F(SlotsTest, ARetryCountsAgainOnlyWhenItsCountIsOlderThanHalfTheSettleTime) {
  SlotOptions options;
  options.settle_ms = 2'000;
  RacingStore racing(store_);
  racing.before_grant = [&] {
    env_.advance(1'001);          // b's count ages past settle_ms / 2 ...
    register_runners(1, 2);       // ... while two launches registered and released long ago appear
    ASSERT_TRUE(take("a", 10, 1, options).ok());
  };
  auto b = take_slots(racing, reader_, kAcme, 10, 10, "b", options, &env_);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->conflicts, 1);
  EXPECT_EQ(b->counts, 2);
  EXPECT_EQ(b->count.count, 2);
  EXPECT_EQ(b->allowed, 7);
}

TEST_F(SlotsTest, OtherDecisionsGrantingFirstForWaitMsIsATimeout) {
  RacingStore racing(store_);
  int raced = 0;
  std::function<void()> race = [&] {
    env_.advance(100);
    ASSERT_TRUE(take("a" + std::to_string(raced++), 100, 1).ok());
    racing.before_grant = race;
  };
  racing.before_grant = race;
  SlotOptions options;
  options.wait_ms = 500;
  auto b = take_slots(racing, reader_, kAcme, 100, 1, "b", options, &env_);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kTimeout) << b.status().to_string();
  EXPECT_EQ(raced, 5);
  EXPECT_EQ(env_.slept_ms(), 0);
  racing.before_grant = race;
  SlotOptions once;
  once.wait_ms = 0;
  EXPECT_EQ(take_slots(racing, reader_, kAcme, 100, 1, "c", once, &env_).status().code(), Code::kTimeout)
      << "wait_ms 0 makes one attempt";
  EXPECT_EQ(raced, 6);
}

TEST_F(SlotsTest, ReleasedLaunchesAreCountedUntilSettled) {
  auto a = take("a", 5, 2);
  ASSERT_TRUE(a.ok());
  register_runners(1, 2);
  ASSERT_EQ(*release_slots(store_, *a, 2, {}, env_.wall_ms()), ReleaseOutcome::kReleased);
  auto b = take("b", 5, 5);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  // Within settle_ms a's launches count twice, once registered and once in its entry: conservative.
  EXPECT_EQ(b->count.count, 2);
  EXPECT_EQ(b->in_flight, 2);
  EXPECT_EQ(b->allowed, 1);
  ASSERT_EQ(*release_slots(store_, *b, 0, {}, env_.wall_ms()), ReleaseOutcome::kReleased);
  env_.advance(SlotOptions{}.settle_ms);
  auto c = take("c", 5, 5);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->counted, 2);
  EXPECT_EQ(c->allowed, 3);
}

TEST_F(SlotsTest, LaunchesTheCountDoesNotShowYetAreCountedForSettleMs) {
  SlotOptions options;
  options.settle_ms = 5'000;
  auto a = take("a", 10, 4, options);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->allowed, 4);
  // Launched 4, none registered (or the index lags): the count still says 0.
  ASSERT_EQ(*release_slots(store_, *a, 4, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  env_.advance(2'000);
  auto b = take("b", 10, 3, options);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->count.count, 0);
  EXPECT_EQ(b->in_flight, 4);
  EXPECT_EQ(b->counted, 4);
  EXPECT_EQ(b->allowed, 3);
  ASSERT_EQ(*release_slots(store_, *b, 3, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  // Each decision's launches run out settle_ms after its own release: a's at +5 s, b's at +7 s.
  env_.advance(3'500);
  auto c = take("c", 10, 10, options);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->in_flight, 3);
  EXPECT_EQ(c->allowed, 7);
  ASSERT_EQ(*release_slots(store_, *c, 0, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  env_.advance(2'000);
  auto d = take("d", 10, 10, options);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->in_flight, 0);
  EXPECT_EQ(d->allowed, 10);
}

TEST_F(SlotsTest, AReleaseByHolderIdAloneIsOneWrite) {
  SlotOptions options;
  auto a = take("a", 10, 4, options);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(*release_slots(store_, *a, 2, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  auto b = take("b", 10, 4, options);
  ASSERT_TRUE(b.ok());
  // Another process knows only the key and the holder id.
  const int writes = store_.writes;
  EXPECT_EQ(*release_slots(store_, kAcme, "someone-else", 1, options, env_.wall_ms()), ReleaseOutcome::kLost);
  EXPECT_EQ(*release_slots(store_, kAcme, "b", 3, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(store_.writes, writes + 2);
  const std::int64_t until = env_.wall_ms() + options.settle_ms;
  EXPECT_EQ(lease(), (SlotLease{2, Grants{{"a", {2, until}}, {"b", {3, until}}}}));
  // Releasing launches again writes the same entry; releasing with none removes it, after which it is lost.
  EXPECT_EQ(*release_slots(store_, kAcme, "b", 3, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(*release_slots(store_, kAcme, "a", 0, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  EXPECT_EQ(*release_slots(store_, kAcme, "a", 0, options, env_.wall_ms()), ReleaseOutcome::kLost);
  EXPECT_EQ(lease(), (SlotLease{2, Grants{{"b", {3, until}}}}));
}

TEST_F(SlotsTest, TakingAgainWithAHolderKeepsItsValidEntry) {
  auto first = take("a", 10, 2);
  ASSERT_TRUE(first.ok());
  auto again = take("a", 10, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->in_flight, 2);
  EXPECT_EQ(again->allowed, 3);
  EXPECT_EQ(lease().grants, (Grants{{"a", {5, env_.wall_ms() + SlotOptions{}.lease_ms}}}));
}

TEST_F(SlotsTest, AGrantRemovesAtMostAHundredRunOutEntries) {
  // 150 entries that ran out long ago (written directly, as 150 crashed deciders would have).
  for (int i = 0; i < 150; ++i) {
    ASSERT_EQ(*store_.grant_slots(kAcme.str(), i, "old-" + std::to_string(i), GrantEntry{1, kStartMs - 60'000}, {}, 1),
              WriteOutcome::kApplied);
  }
  ASSERT_TRUE(take("a", 5, 1).ok());
  EXPECT_EQ(lease().grants.size(), 51u) << "100 removed, a's added";
  ASSERT_TRUE(take("b", 5, 1).ok());
  EXPECT_EQ(lease().grants.size(), 2u);
}

TEST_F(SlotsTest, AFailedCountWritesNothing) {
  store_.fail_count = true;  // the index cannot be read: the reader falls back to EC2 ...
  ec2_.fail_next = 1;        // ... which fails too
  const int writes = store_.writes;
  auto failed = take("a", 5, 1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kThrottled) << failed.status().to_string();
  EXPECT_NE(failed.status().message().find("to take slots"), std::string::npos);
  EXPECT_EQ(store_.writes, writes);
  EXPECT_EQ(lease(), (SlotLease{0, {}}));
  store_.fail_count = false;
  auto next = take("b", 5, 1);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->attempts, 1);
}

TEST_F(SlotsTest, ALeaseWriteFailureIsReported) {
  store_.fail_writes = 1;
  auto failed = take("a", 5, 1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  auto grant = take("a", 5, 1);
  ASSERT_TRUE(grant.ok());
  store_.fail_writes = 1;
  auto released = release_slots(store_, *grant, 1, {}, env_.wall_ms());
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), Code::kUnavailable);
}

TEST_F(SlotsTest, RejectsBadInputWithoutARequest) {
  const int writes = store_.writes;
  EXPECT_EQ(take("", 5, 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(take("a", -1, 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(take("a", 5, -1).status().code(), Code::kInvalidArgument);
  // A grant beyond GrantEntry::kMaxCount would make the lease unreadable for every decider of the key.
  EXPECT_EQ(take("a", GrantEntry::kMaxCount + 1, 1).status().code(), Code::kInvalidArgument);
  SlotOptions bad;
  bad.lease_ms = 0;
  EXPECT_EQ(take("a", 5, 1, bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(take_slots(store_, reader_, RunnerKey{"prod", "Team", "acme"}, 5, 1, "a", {}, &env_)
                .status()
                .code(),
            Code::kInvalidArgument);
  ReaderOptions memo;
  memo.memo_ttl_ms = 1000;
  RunnerCountReader memoizing(store_, ec2_, memo, &env_);
  auto refused = take_slots(store_, memoizing, kAcme, 5, 1, "a", {}, &env_);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(release_slots(store_, kAcme, "a", -1, {}, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(release_slots(store_, kAcme, "", 1, {}, 0).status().code(), Code::kInvalidArgument);
  SlotGrant two;
  two.key = kAcme;
  two.holder = "a";
  two.allowed = 2;
  two.expires_ms = kStartMs + 1000;
  EXPECT_EQ(release_slots(store_, two, 3, {}, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_.writes, writes);
}

TEST(SlotsHolder, IdsAreSixteenHexDigitsAndDistinct) {
  const std::string a = new_holder_id();
  const std::string b = new_holder_id();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

// N threads decide for one key at once, each launching what it was allowed, registering it and releasing;
// runners also end meanwhile. With grants on the lease's version, the key never holds more than the maximum.
TEST(SlotsConcurrency, ConcurrentDecidersOnOneKeyNeverExceedTheMaximum) {
  constexpr int kThreads = 8;
  constexpr int kDecisions = 40;
  constexpr std::int64_t kMaximum = 10;
  MemoryStore table;
  std::mutex mu;
  Env* env = Env::Default();
  {
    LockedStore setup(table, mu);
    ASSERT_TRUE(setup.stamp_heartbeat(env->wall_ms(), testing::kProdOnly).ok());
    ReconcileReport report;
    report.finished_ms = env->wall_ms();
    ASSERT_TRUE(setup.record_reconcile(report).ok());
  }
  std::atomic<int> over_maximum{0};
  std::atomic<std::int64_t> granted{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LockedStore store(table, mu);
      FakeEc2 ec2;
      testing::FakeTagSource tags;
      RunnerCountReader reader(store, ec2, ReaderOptions{}, env);
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
      std::vector<std::string> mine;
      SlotOptions options;
      options.wait_ms = 60'000;
      options.settle_ms = 0;  // the embedded index shows a registration at once
      for (int d = 0; d < kDecisions; ++d) {
        // Some of this thread's runners end (an end only frees slots).
        if (!mine.empty() && rng() % 2 == 0) {
          const std::string id = mine.back();
          mine.pop_back();
          auto ended = apply_event(store, tags, InstanceEvent{id, InstanceState::kTerminated, env->wall_ms() / 1000 + 1, "e"},
                                   CounterOptions{{"prod"}, 86400}, env->wall_ms());
          if (!ended.ok()) ++failures;
        }
        const std::string holder = "t" + std::to_string(t) + "-" + std::to_string(d);
        auto grant = take_slots(store, reader, kAcme, kMaximum, 1 + static_cast<std::int64_t>(rng() % 4), holder,
                                options, env);
        if (!grant.ok()) {
          ++failures;
          continue;
        }
        std::vector<LaunchedRunner> launches;
        for (std::int64_t i = 0; i < grant->allowed; ++i) {
          launches.push_back({instance_id(static_cast<unsigned>(t * 100000 + d * 10 + i)), kAcme, env->wall_ms() / 1000});
          mine.push_back(launches.back().instance_id);
        }
        if (count_failures(register_launches(store, launches, {"prod"}, env->wall_ms())) != 0) ++failures;
        granted += grant->allowed;
        auto now = store.count_active(kAcme.str());
        if (!now.ok() || *now > kMaximum) ++over_maximum;
        auto released = release_slots(store, *grant, grant->allowed, options, env->wall_ms());
        if (!released.ok() || *released != ReleaseOutcome::kReleased) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(over_maximum.load(), 0);
  EXPECT_LE(table.active_counts()[kAcme.str()], kMaximum);
  EXPECT_GT(granted.load(), kMaximum) << "runners ended and their slots were taken again";
}

}  // namespace
}  // namespace rcc
