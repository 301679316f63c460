#include "rcc/slots.h"

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "core/counter.h"
#include "rcc/registration.h"

namespace rcc {
namespace {

using testing::FakeEc2;
using testing::FaultyStore;
using testing::instance_id;
using testing::LockedStore;

constexpr std::int64_t kStartMs = 1'700'000'000'000;
const RunnerKey kAcme{"prod", "Org", "acme"};

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

  VirtualEnv env_{kStartMs, 7};
  FaultyStore store_;
  FakeEc2 ec2_;
  RunnerCountReader reader_;
};

TEST_F(SlotsTest, AllowsTheFreeSlotsUpToWhatIsWanted) {
  register_runners(1, 3);
  auto grant = take("a", 5, 10);
  ASSERT_TRUE(grant.ok()) << grant.status().to_string();
  EXPECT_EQ(grant->count.count, 3);
  EXPECT_EQ(grant->count.source, CountSource::kCache);
  EXPECT_EQ(grant->counted, 3);
  EXPECT_EQ(grant->allowed, 2);
  EXPECT_EQ(grant->attempts, 1);
  EXPECT_EQ(grant->waited_ms, 0);
  EXPECT_EQ(grant->expires_ms, kStartMs + SlotOptions{}.lease_ms);
  ASSERT_EQ(*release_slots(store_, *grant, 0, {}, env_.wall_ms()), ReleaseOutcome::kReleased);

  auto fewer = take("b", 5, 1);
  ASSERT_TRUE(fewer.ok());
  EXPECT_EQ(fewer->allowed, 1);
  ASSERT_EQ(*release_slots(store_, *fewer, 0, {}, env_.wall_ms()), ReleaseOutcome::kReleased);

  auto full = take("c", 2, 4);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->allowed, 0) << "never below zero when the key is over its maximum";
}

TEST_F(SlotsTest, ABusyLeaseIsWaitedForUntilWaitMs) {
  ASSERT_TRUE(take("a", 5, 1).ok());
  SlotOptions options;
  options.wait_ms = 500;
  auto busy = take("b", 5, 1, options);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), Code::kTimeout) << busy.status().to_string();
  EXPECT_EQ(env_.slept_ms(), 500) << "waits exactly the budget";
  EXPECT_EQ(ec2_.requests_sent(), 0);

  SlotOptions once;
  once.wait_ms = 0;
  EXPECT_EQ(take("b", 5, 1, once).status().code(), Code::kTimeout);
  EXPECT_EQ(env_.slept_ms(), 500) << "wait_ms 0 makes one attempt, without sleeping";
}

TEST_F(SlotsTest, AReleasedLeaseIsTakenAtOnceByTheWaitingDecision) {
  auto a = take("a", 5, 2);
  ASSERT_TRUE(a.ok());
  register_runners(1, 2);
  ASSERT_EQ(*release_slots(store_, *a, 2, {}, env_.wall_ms()), ReleaseOutcome::kReleased);
  auto b = take("b", 5, 5);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->attempts, 1);
  // Within settle_ms a's launches count twice, once registered and once in flight: conservative.
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

TEST_F(SlotsTest, AnExpiredLeaseIsTakenOverAndItsHolderLearnsItLostIt) {
  SlotOptions options;
  options.lease_ms = 30'000;
  options.wait_ms = 60'000;
  auto crashed = take("a", 5, 2, options);  // never released: the holder crashed
  ASSERT_TRUE(crashed.ok());
  auto b = take("b", 5, 2, options);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_GE(b->waited_ms, 30'000);
  EXPECT_LE(b->waited_ms, 31'000) << "a crashed holder blocks the key for about the lease time, not more";
  EXPECT_GT(b->attempts, 2);
  // The first holder wakes up late: its release is refused and reported as lost.
  EXPECT_EQ(*release_slots(store_, *crashed, 2, options, env_.wall_ms()), ReleaseOutcome::kLost);
  EXPECT_EQ(*release_slots(store_, *b, 2, options, env_.wall_ms()), ReleaseOutcome::kReleased);
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
  EXPECT_TRUE(d->recent.empty());
}

TEST_F(SlotsTest, AReleaseByHolderIdAloneReadsTheLeaseFirst) {
  SlotOptions options;
  auto a = take("a", 10, 4, options);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(*release_slots(store_, *a, 2, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  auto b = take("b", 10, 4, options);
  ASSERT_TRUE(b.ok());
  // Another process knows only the key and the holder id.
  EXPECT_EQ(*release_slots(store_, kAcme, "someone-else", 1, options, env_.wall_ms()), ReleaseOutcome::kLost);
  EXPECT_EQ(*release_slots(store_, kAcme, "b", 3, options, env_.wall_ms()), ReleaseOutcome::kReleased);
  auto lease = *store_.get_lease(kAcme.str());
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->holder, "");
  const std::int64_t until = env_.wall_ms() + options.settle_ms;
  EXPECT_EQ(lease->recent, (std::vector<RecentLaunch>{{2, until}, {3, until}}));
  EXPECT_EQ(*release_slots(store_, kAcme, "b", 3, options, env_.wall_ms()), ReleaseOutcome::kLost)
      << "released already";
}

TEST_F(SlotsTest, AFailedCountGivesTheLeaseBackAtOnce) {
  store_.fail_count = true;  // the index cannot be read: the reader falls back to EC2 ...
  ec2_.fail_next = 1;        // ... which fails too
  auto failed = take("a", 5, 1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kThrottled) << failed.status().to_string();
  EXPECT_NE(failed.status().message().find("under the slot lease"), std::string::npos);
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
// runners also end meanwhile. Under the lease, the key never holds more than the maximum.
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
      options.retry_ms = 1;
      options.settle_ms = 0;  // the embedded index shows a registration at once
      for (int d = 0; d < kDecisions; ++d) {
        // Some of this thread's runners end (outside the lease: an end only frees slots).
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
