#include "rcc/reader.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "core/memory_store.h"
#include "rcc/event.h"

namespace rcc {
namespace {

using testing::FakeEc2;
using testing::FaultyStore;
using testing::kProdOnly;
using testing::runner_tags;

constexpr std::int64_t kNow = 1'700'000'000'000;

const RunnerKey kKey{"prod", "Org", "acme"};

class ReaderTest : public ::testing::Test {
 protected:
  // A pipeline alive `heartbeat_age` ms ago and reconciled `reconcile_age` ms ago.
  void stamp(std::int64_t heartbeat_age, std::int64_t reconcile_age) {
    ASSERT_TRUE(store_.inner.stamp_heartbeat(kNow - heartbeat_age, kProdOnly).ok());
    ReconcileReport report;
    report.started_ms = kNow - reconcile_age - 1000;
    report.finished_ms = kNow - reconcile_age;
    ASSERT_TRUE(store_.inner.record_reconcile(report).ok());
  }

  // An active runner of `key` in the table only (`table`) or in EC2 only (`ec2`).
  void table_runner(const std::string& id, const RunnerKey& key) {
    InstanceIdentity identity = identify(runner_tags(key.environment, key.type, key.owner), key.environment);
    auto t = make_transition(WriteMode::kUpsert, id, InstanceState::kRunning, kNow / 1000 - 100, kNow - 100000,
                             86400, identity);
    ASSERT_EQ(*store_.inner.apply(t), WriteOutcome::kApplied);
  }

  RunnerCountReader reader(ReaderOptions options = {}) {
    return RunnerCountReader(store_, ec2_, options, &clock_);
  }

  FaultyStore store_;
  FakeEc2 ec2_;
  std::int64_t now_ = kNow;
  ClockEnv clock_{[this] { return now_; }};
};

TEST(ReaderNames, SourcesAndReasons) {
  EXPECT_EQ(source_name(CountSource::kCache), "cache");
  EXPECT_EQ(source_name(CountSource::kEc2), "ec2");
  EXPECT_EQ(reason_name(FallbackReason::kNone), "none");
  EXPECT_EQ(reason_name(FallbackReason::kMetaMissing), "meta_missing");
  EXPECT_EQ(reason_name(FallbackReason::kHeartbeatStale), "heartbeat_stale");
  EXPECT_EQ(reason_name(FallbackReason::kReconcileOverdue), "reconcile_overdue");
  EXPECT_EQ(reason_name(FallbackReason::kCacheReadFailed), "cache_read_failed");
}

TEST(ReaderOptionsValidation, RejectsEachBadField) {
  EXPECT_TRUE(validate_reader_options({}).ok());
  ReaderOptions o;
  o.stale_threshold_ms = -1;
  EXPECT_NE(validate_reader_options(o).message().find("stale_threshold_ms"), std::string::npos);
  o = {};
  o.reconcile_interval_ms = 0;
  EXPECT_NE(validate_reader_options(o).message().find("reconcile_interval_ms"), std::string::npos);
  o = {};
  o.memo_ttl_ms = -5;
  EXPECT_NE(validate_reader_options(o).message().find("memo_ttl_ms"), std::string::npos);
  o = {};
  o.application_tag.clear();
  EXPECT_EQ(validate_reader_options(o).code(), Code::kInvalidArgument);
}

MetaItem meta(std::optional<std::int64_t> heartbeat, std::optional<std::int64_t> reconciled) {
  MetaItem m;
  m.heartbeat_ms = heartbeat;
  m.reconciled_ms = reconciled;
  return m;
}

TEST(Freshness, MetaMissing) {
  const Freshness f = assess_freshness(std::nullopt, kNow, {});
  EXPECT_EQ(f.reason, FallbackReason::kMetaMissing);
  EXPECT_FALSE(f.age_ms.has_value());
}

TEST(Freshness, HeartbeatExactlyAtThresholdIsFresh) {
  const Freshness f = assess_freshness(meta(kNow - 60000, kNow), kNow, {});
  EXPECT_EQ(f.reason, FallbackReason::kNone);
  EXPECT_EQ(f.age_ms, 60000);
}

TEST(Freshness, HeartbeatOneMsPastThresholdIsStale) {
  const Freshness f = assess_freshness(meta(kNow - 60001, kNow), kNow, {});
  EXPECT_EQ(f.reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(f.age_ms, 60001);
  EXPECT_NE(f.detail.find("60001"), std::string::npos);
}

// Regression: a heartbeat stamped by a clock running a day ahead counted as fresh (a negative age), so the
// reader served the cache while the counter was dead, for as long as that clock was ahead.
TEST(Freshness, HeartbeatBeyondTheClockSkewBoundIsStale) {
  const Freshness skewed = assess_freshness(meta(kNow + kMaxEventSkewMs, kNow), kNow, {});
  EXPECT_EQ(skewed.reason, FallbackReason::kNone);
  EXPECT_EQ(skewed.age_ms, -kMaxEventSkewMs);
  const Freshness ahead = assess_freshness(meta(kNow + kMaxEventSkewMs + 1, kNow), kNow, {});
  EXPECT_EQ(ahead.reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(ahead.age_ms, -kMaxEventSkewMs - 1);
  EXPECT_EQ(ahead.detail, "heartbeat 300001 ms in the future > clock skew bound 300000 ms");
  const Freshness day = assess_freshness(meta(kNow + 86400000, kNow), kNow, {});
  EXPECT_EQ(day.reason, FallbackReason::kHeartbeatStale);
}

// The same for the reconcile stamp: one far ahead is no proof of a recent reconcile.
TEST(Freshness, ReconcileBeyondTheClockSkewBoundIsOverdue) {
  EXPECT_EQ(assess_freshness(meta(kNow, kNow + kMaxEventSkewMs), kNow, {}).reason, FallbackReason::kNone);
  const Freshness ahead = assess_freshness(meta(kNow, kNow + 86400000), kNow, {});
  EXPECT_EQ(ahead.reason, FallbackReason::kReconcileOverdue);
  EXPECT_EQ(ahead.detail, "last reconcile 86400000 ms in the future > clock skew bound 300000 ms");
}

TEST(Freshness, HeartbeatAbsentIsStale) {
  EXPECT_EQ(assess_freshness(meta(std::nullopt, kNow), kNow, {}).reason, FallbackReason::kHeartbeatStale);
}

TEST(Freshness, ReconcileExactlyThreeIntervalsAgoIsFresh) {
  ReaderOptions o;
  o.reconcile_interval_ms = 300000;
  EXPECT_EQ(assess_freshness(meta(kNow, kNow - 900000), kNow, o).reason, FallbackReason::kNone);
}

TEST(Freshness, ReconcileOneMsPastThreeIntervalsIsOverdue) {
  ReaderOptions o;
  o.reconcile_interval_ms = 300000;
  const Freshness f = assess_freshness(meta(kNow, kNow - 900001), kNow, o);
  EXPECT_EQ(f.reason, FallbackReason::kReconcileOverdue);
  EXPECT_EQ(f.age_ms, 0);
}

TEST(Freshness, NeverReconciledIsOverdue) {
  EXPECT_EQ(assess_freshness(meta(kNow, std::nullopt), kNow, {}).reason, FallbackReason::kReconcileOverdue);
}

TEST(Freshness, StaleHeartbeatWinsOverOverdueReconcile) {
  EXPECT_EQ(assess_freshness(meta(kNow - 70000, std::nullopt), kNow, {}).reason,
            FallbackReason::kHeartbeatStale);
}

TEST(Freshness, HonoursCustomThresholds) {
  ReaderOptions o;
  o.stale_threshold_ms = 5000;
  o.reconcile_interval_ms = 1000;
  EXPECT_EQ(assess_freshness(meta(kNow - 5001, kNow), kNow, o).reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(assess_freshness(meta(kNow - 5000, kNow - 3000), kNow, o).reason, FallbackReason::kNone);
  EXPECT_EQ(assess_freshness(meta(kNow - 5000, kNow - 3001), kNow, o).reason, FallbackReason::kReconcileOverdue);
}

TEST(Freshness, EnvironmentNotCountedIsAMismatchCheckedBeforeTheHeartbeat) {
  MetaItem m = meta(kNow - 70000, kNow);  // stale too: the mismatch is the more basic reason
  m.environments = {"prod", "staging"};
  const Freshness f = assess_freshness(m, "dev", kNow, {});
  EXPECT_EQ(f.reason, FallbackReason::kEnvironmentMismatch);
  EXPECT_EQ(f.age_ms, 70000);
  EXPECT_EQ(f.detail, "the table counts prod,staging, not dev");
  EXPECT_EQ(assess_freshness(m, "staging", kNow, {}).reason, FallbackReason::kHeartbeatStale);
  m.heartbeat_ms = kNow;
  EXPECT_EQ(assess_freshness(m, "staging", kNow, {}).reason, FallbackReason::kNone);
  EXPECT_EQ(assess_freshness(m, "Staging", kNow, {}).reason, FallbackReason::kEnvironmentMismatch);
}

TEST(Freshness, MetaWithoutEnvironmentsIsAMismatch) {
  const Freshness f = assess_freshness(meta(kNow, kNow), "prod", kNow, {});
  EXPECT_EQ(f.reason, FallbackReason::kEnvironmentMismatch);
  EXPECT_EQ(f.detail, "the meta item does not say which environments the table counts");
  EXPECT_EQ(assess_freshness(std::nullopt, "prod", kNow, {}).reason, FallbackReason::kMetaMissing);
}

TEST(CountMatchingRunners, MatchesExactlyTheScaleUpsCount) {
  std::vector<Ec2Instance> v = {
      {"i-00000001", InstanceState::kRunning, runner_tags("prod", "Org", "acme"), 0},
      {"i-00000002", InstanceState::kPending, runner_tags("prod", "Org", "acme"), 0},
      {"i-00000003", InstanceState::kStopped, runner_tags("prod", "Org", "acme"), 0},
      {"i-00000004", InstanceState::kRunning, runner_tags("prod", "Org", "other"), 0},
      {"i-00000005", InstanceState::kRunning, runner_tags("prod", "Repo", "acme"), 0},
      {"i-00000006", InstanceState::kRunning, runner_tags("dev", "Org", "acme"), 0},
      {"i-00000007", InstanceState::kRunning, Tags{{"Name", "bastion"}}, 0},
  };
  Tags foreign_app = runner_tags("prod", "Org", "acme");
  foreign_app["ghr:Application"] = "something-else";
  v.push_back({"i-00000008", InstanceState::kRunning, foreign_app, 0});
  EXPECT_EQ(count_matching_runners(v, kKey), 2);
  EXPECT_EQ(count_matching_runners(v, RunnerKey{"prod", "Repo", "acme"}), 1);
  EXPECT_EQ(count_matching_runners(v, kKey, "something-else"), 1);
}

TEST_F(ReaderTest, FreshCacheAnswersWithoutEc2) {
  stamp(1000, 60000);
  table_runner("i-00000001", kKey);
  table_runner("i-00000002", kKey);
  table_runner("i-00000003", RunnerKey{"prod", "Org", "other"});
  auto r = reader();
  auto answer = r.count(kKey);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->count, 2);
  EXPECT_EQ(answer->source, CountSource::kCache);
  EXPECT_EQ(answer->reason, FallbackReason::kNone);
  EXPECT_EQ(answer->age_ms, 1000);
  EXPECT_FALSE(answer->memoized);
  EXPECT_EQ(ec2_.requests_sent(), 0);
  EXPECT_EQ(store_.writes, 0);
  EXPECT_EQ(r.stats().cache_answers, 1);
}

TEST_F(ReaderTest, EachStalenessCauseFallsBackAndSaysWhich) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  table_runner("i-00000009", kKey);  // the cache says 1 as well, but must not be used
  table_runner("i-0000000a", kKey);
  auto r = reader();

  auto missing = r.count(kKey);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->source, CountSource::kEc2);
  EXPECT_EQ(missing->reason, FallbackReason::kMetaMissing);
  EXPECT_EQ(missing->count, 1);
  EXPECT_FALSE(missing->age_ms.has_value());

  stamp(60001, 0);
  auto stale = r.count(kKey);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->source, CountSource::kEc2);
  EXPECT_EQ(stale->reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(stale->age_ms, 60001);
  EXPECT_EQ(stale->count, 1);

  now_ = kNow + 900001;  // the reconcile stamped at kNow is now one ms past 3 intervals; fresh heartbeat
  ASSERT_TRUE(store_.inner.stamp_heartbeat(now_, kProdOnly).ok());
  auto overdue = r.count(kKey);
  ASSERT_TRUE(overdue.ok());
  EXPECT_EQ(overdue->reason, FallbackReason::kReconcileOverdue);
  EXPECT_EQ(overdue->source, CountSource::kEc2);
  EXPECT_EQ(overdue->age_ms, 0);

  EXPECT_EQ(ec2_.requests_sent(), 3);
  EXPECT_EQ(store_.writes, 0);
  EXPECT_EQ(r.stats().fallbacks.at(FallbackReason::kMetaMissing), 1);
  EXPECT_EQ(r.stats().fallbacks.at(FallbackReason::kHeartbeatStale), 1);
  EXPECT_EQ(r.stats().fallbacks.at(FallbackReason::kReconcileOverdue), 1);
}

// The bug this pins: one staging runner, a table that counts prod, used to answer "fresh, 0".
TEST_F(ReaderTest, AnotherEnvironmentsKeyFallsBackWithoutReadingTheIndex) {
  stamp(1000, 1000);
  ec2_.add("i-00000001", InstanceState::kRunning, runner_tags("staging", "Org", "acme"));
  auto r = reader();
  auto answer = r.count(RunnerKey{"staging", "Org", "acme"});
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->source, CountSource::kEc2);
  EXPECT_EQ(answer->reason, FallbackReason::kEnvironmentMismatch);
  EXPECT_EQ(answer->count, 1);
  EXPECT_EQ(answer->age_ms, 1000);
  EXPECT_EQ(store_.count_reads, 0);  // a single store reads the meta item first and skips the index
  EXPECT_EQ(r.stats().fallbacks.at(FallbackReason::kEnvironmentMismatch), 1);
}

TEST_F(ReaderTest, BoundariesThroughTheReader) {
  table_runner("i-00000001", kKey);
  ec2_.add("i-00000002", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-00000003", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ReaderOptions o;
  o.stale_threshold_ms = 60000;
  o.reconcile_interval_ms = 300000;
  auto r = reader(o);
  struct Case {
    std::int64_t heartbeat_age, reconcile_age;
    CountSource source;
    FallbackReason reason;
    std::int64_t count;
  };
  for (const Case& c : {Case{60000, 900000, CountSource::kCache, FallbackReason::kNone, 1},
                        Case{60001, 900000, CountSource::kEc2, FallbackReason::kHeartbeatStale, 2},
                        Case{60000, 900001, CountSource::kEc2, FallbackReason::kReconcileOverdue, 2},
                        Case{0, 0, CountSource::kCache, FallbackReason::kNone, 1}}) {
    SCOPED_TRACE(std::to_string(c.heartbeat_age) + "/" + std::to_string(c.reconcile_age));
    now_ += 1'000'000;  // heartbeats only move forward: step the clock, then stamp relative to it
    ASSERT_TRUE(store_.inner.stamp_heartbeat(now_ - c.heartbeat_age, kProdOnly).ok());
    ReconcileReport report;
    report.finished_ms = now_ - c.reconcile_age;
    ASSERT_TRUE(store_.inner.record_reconcile(report).ok());
    auto answer = r.count(kKey);
    ASSERT_TRUE(answer.ok()) << answer.status().to_string();
    EXPECT_EQ(answer->source, c.source) << answer->detail;
    EXPECT_EQ(answer->reason, c.reason) << answer->detail;
    EXPECT_EQ(answer->count, c.count);
    EXPECT_EQ(answer->age_ms, c.heartbeat_age);
  }
  EXPECT_EQ(ec2_.requests_sent(), 2);
  EXPECT_EQ(store_.writes, 0);
}

TEST_F(ReaderTest, StaleMetaSkipsTheIndexReadOnOneStore) {
  stamp(60001, 0);
  auto r = reader();
  ASSERT_TRUE(r.count(kKey).ok());
  EXPECT_EQ(store_.meta_reads, 1);
  EXPECT_EQ(store_.count_reads, 0);
}

TEST_F(ReaderTest, MetaReadFailureFallsBack) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  store_.fail_meta = true;
  auto r = reader();
  auto answer = r.count(kKey);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->reason, FallbackReason::kCacheReadFailed);
  EXPECT_EQ(answer->source, CountSource::kEc2);
  EXPECT_EQ(answer->count, 1);
  EXPECT_NE(answer->detail.find("ResourceNotFoundException"), std::string::npos) << answer->detail;
}

TEST_F(ReaderTest, IndexReadFailureFallsBack) {
  stamp(0, 0);
  store_.fail_count = true;
  auto r = reader();
  auto answer = r.count(kKey);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->reason, FallbackReason::kCacheReadFailed);
  EXPECT_EQ(answer->age_ms, 0);
  EXPECT_NE(answer->detail.find("index"), std::string::npos) << answer->detail;
}

TEST_F(ReaderTest, FallbackSendsOnlyStateAndEnvironmentFilters) {
  auto r = reader();
  ASSERT_TRUE(r.count(kKey).ok());
  ASSERT_EQ(ec2_.last_filters.size(), 2u);
  EXPECT_EQ(ec2_.last_filters[0].name, "instance-state-name");
  EXPECT_EQ(ec2_.last_filters[0].values, (std::vector<std::string>{"pending", "running"}));
  EXPECT_EQ(ec2_.last_filters[1].name, "tag:ghr:environment");
  EXPECT_EQ(ec2_.last_filters[1].values, (std::vector<std::string>{"prod"}));
}

TEST_F(ReaderTest, FallbackEqualsEc2TruthAmongOtherInstances) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-00000002", InstanceState::kPending, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-00000003", InstanceState::kTerminated, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-00000004", InstanceState::kRunning, runner_tags("prod", "Org", "acme-two"));
  ec2_.add("i-00000005", InstanceState::kRunning, runner_tags("staging", "Org", "acme"));
  ec2_.add("i-00000006", InstanceState::kRunning, Tags{{"ghr:environment", "prod"}});
  auto r = reader();
  auto answer = r.count(kKey);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->count, 2);
}

TEST_F(ReaderTest, Ec2FailureAfterStaleCacheNamesBoth) {
  ec2_.fail_next = 1;
  auto r = reader();
  auto answer = r.count(kKey);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kThrottled);
  EXPECT_TRUE(answer.status().retryable());
  EXPECT_NE(answer.status().message().find("meta_missing"), std::string::npos) << answer.status().message();
  EXPECT_NE(answer.status().message().find("EC2 fallback failed"), std::string::npos);
  EXPECT_NE(answer.status().message().find("RequestLimitExceeded"), std::string::npos);
  EXPECT_EQ(r.stats().failures, 1);
}

TEST_F(ReaderTest, Ec2FailureAfterCacheReadFailureNamesBoth) {
  store_.fail_meta = true;
  ec2_.fail_next = 1;
  ec2_.failure = Status::PermissionDenied("UnauthorizedOperation");
  auto r = reader();
  auto answer = r.count(kKey);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kPermissionDenied);
  EXPECT_NE(answer.status().message().find("cache cache_read_failed"), std::string::npos);
  EXPECT_NE(answer.status().message().find("ResourceNotFoundException"), std::string::npos);
  EXPECT_NE(answer.status().message().find("UnauthorizedOperation"), std::string::npos);
}

TEST_F(ReaderTest, InvalidKeyIsRejectedWithoutRequests) {
  auto r = reader();
  auto answer = r.count(RunnerKey{"prod", "Team", "acme"});
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(r.count(RunnerKey{"", "Org", "acme"}).ok());
  EXPECT_FALSE(r.count(RunnerKey{"prod", "Org", ""}).ok());
  EXPECT_EQ(store_.meta_reads, 0);
  EXPECT_EQ(ec2_.requests_sent(), 0);
}

TEST_F(ReaderTest, MemoOffByDefault) {
  stamp(0, 0);
  auto r = reader();
  ASSERT_TRUE(r.count(kKey).ok());
  ASSERT_TRUE(r.count(kKey).ok());
  EXPECT_EQ(store_.meta_reads, 2);
  EXPECT_EQ(r.stats().memo_hits, 0);
}

TEST_F(ReaderTest, MemoServesRepeatsWithinItsTtl) {
  stamp(0, 0);
  table_runner("i-00000001", kKey);
  ReaderOptions o;
  o.memo_ttl_ms = 500;
  auto r = reader(o);
  ASSERT_TRUE(r.count(kKey).ok());
  table_runner("i-00000002", kKey);
  now_ = kNow + 499;
  auto repeat = r.count(kKey);
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->memoized);
  EXPECT_EQ(repeat->count, 1);
  EXPECT_EQ(repeat->age_ms, 499);
  EXPECT_EQ(store_.meta_reads, 1);
  EXPECT_EQ(r.stats().memo_hits, 1);

  now_ = kNow + 500;
  auto fresh = r.count(kKey);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->memoized);
  EXPECT_EQ(fresh->count, 2);
  EXPECT_EQ(store_.meta_reads, 2);
}

TEST_F(ReaderTest, MemoKeepsKeysApartAndClears) {
  stamp(0, 0);
  ReaderOptions o;
  o.memo_ttl_ms = 1000;
  auto r = reader(o);
  ASSERT_TRUE(r.count(kKey).ok());
  ASSERT_TRUE(r.count(RunnerKey{"prod", "Repo", "acme/app"}).ok());
  EXPECT_EQ(store_.meta_reads, 2);
  r.clear_memo();
  ASSERT_TRUE(r.count(kKey).ok());
  EXPECT_EQ(store_.meta_reads, 3);
}

TEST_F(ReaderTest, MemoAlsoSparesEc2) {
  ReaderOptions o;
  o.memo_ttl_ms = 1000;
  auto r = reader(o);
  ASSERT_TRUE(r.count(kKey).ok());
  auto again = r.count(kKey);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->source, CountSource::kEc2);
  EXPECT_TRUE(again->memoized);
  EXPECT_EQ(ec2_.requests_sent(), 1);
}

// A memoized cache answer is served only while the cache would still be fresh by the same rule: the
// heartbeat 58 s old, a repeat 4 s later (within the 5 s memo) would be 62 s old > 60 s, so the reader
// reads again and falls back to EC2 instead of answering "cache, age 62000".
TEST_F(ReaderTest, MemoDoesNotServeACacheAnswerPastTheStaleThreshold) {
  stamp(58000, 0);
  table_runner("i-00000001", kKey);
  ec2_.add("i-00000002", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ReaderOptions o;
  o.memo_ttl_ms = 5000;
  auto r = reader(o);
  auto first = r.count(kKey);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->source, CountSource::kCache);
  EXPECT_EQ(first->age_ms, 58000);

  now_ = kNow + 2000;  // 60000 ms old: exactly at the threshold, still fresh
  auto at_threshold = r.count(kKey);
  ASSERT_TRUE(at_threshold.ok());
  EXPECT_TRUE(at_threshold->memoized);
  EXPECT_EQ(at_threshold->source, CountSource::kCache);
  EXPECT_EQ(at_threshold->age_ms, 60000);

  now_ = kNow + 4000;
  auto later = r.count(kKey);
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->memoized);
  EXPECT_EQ(later->source, CountSource::kEc2);
  EXPECT_EQ(later->reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(later->age_ms, 62000);
  EXPECT_EQ(later->count, 1);
  EXPECT_EQ(store_.meta_reads, 2);
  EXPECT_EQ(ec2_.requests_sent(), 1);
  EXPECT_EQ(r.stats().memo_hits, 1);
}

// The same for the reconcile-overdue half of the rule: reconciled exactly 3 intervals ago, a memo hit 1 ms
// later would vouch for a cache the rule calls overdue.
TEST_F(ReaderTest, MemoDoesNotServeACacheAnswerOnceReconcileIsOverdue) {
  ReaderOptions o;
  o.memo_ttl_ms = 5000;
  stamp(0, 3 * o.reconcile_interval_ms);
  auto r = reader(o);
  auto first = r.count(kKey);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->source, CountSource::kCache);

  now_ = kNow + 1;
  auto later = r.count(kKey);
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->memoized);
  EXPECT_EQ(later->source, CountSource::kEc2);
  EXPECT_EQ(later->reason, FallbackReason::kReconcileOverdue);
  EXPECT_EQ(store_.meta_reads, 2);
}

TEST_F(ReaderTest, FailuresAreNotMemoized) {
  ReaderOptions o;
  o.memo_ttl_ms = 1000;
  ec2_.fail_next = 1;
  auto r = reader(o);
  EXPECT_FALSE(r.count(kKey).ok());
  EXPECT_TRUE(r.count(kKey).ok());
  EXPECT_EQ(ec2_.requests_sent(), 2);
}

// A store handle whose get_meta waits until the other handle's count_active has started: the reader
// deadlocks (and the wait gives up, failing the read) unless the two reads really are in flight together.
class RendezvousStore : public FaultyStore {
 public:
  explicit RendezvousStore(FaultyStore& table) : table_(table) {}

  Result<std::int64_t> count_active(std::string_view key) override {
    {
      std::lock_guard lock(mu_);
      count_started_ = true;
    }
    cv_.notify_all();
    std::unique_lock lock(mu_);
    meta_started_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return meta_started_; });
    return table_.count_active(key);
  }

  Result<std::optional<MetaItem>> get_meta_paired() {
    {
      std::lock_guard lock(mu_);
      meta_started_ = true;
    }
    meta_started_cv_.notify_all();
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [this] { return count_started_; })) {
      return Status::Timeout("the index count never started while the meta read was in flight");
    }
    return table_.inner.get_meta();
  }

  bool both_overlapped() {
    std::lock_guard lock(mu_);
    return count_started_ && meta_started_;
  }

 private:
  FaultyStore& table_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable meta_started_cv_;
  bool count_started_ = false;
  bool meta_started_ = false;
};

class MetaHandle : public FaultyStore {
 public:
  explicit MetaHandle(RendezvousStore& rendezvous) : rendezvous_(rendezvous) {}
  Result<std::optional<MetaItem>> get_meta() override { return rendezvous_.get_meta_paired(); }

 private:
  RendezvousStore& rendezvous_;
};

TEST_F(ReaderTest, MetaAndIndexReadsAreInFlightTogether) {
  stamp(0, 0);
  table_runner("i-00000001", kKey);
  RendezvousStore counting(store_);
  MetaHandle meta_handle(counting);
  RunnerCountReader r(counting, meta_handle, ec2_, {}, &clock_);
  auto answer = r.count(kKey);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->source, CountSource::kCache) << answer->detail;
  EXPECT_EQ(answer->count, 1);
  EXPECT_TRUE(counting.both_overlapped());
  EXPECT_EQ(ec2_.requests_sent(), 0);
}

TEST_F(ReaderTest, TwoHandlesStaleMetaStillFallsBack) {
  stamp(60001, 0);
  FaultyStore meta_handle;
  ASSERT_TRUE(meta_handle.inner.stamp_heartbeat(kNow - 60001, kProdOnly).ok());
  RunnerCountReader r(store_, meta_handle, ec2_, {}, &clock_);
  auto answer = r.count(kKey);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->reason, FallbackReason::kHeartbeatStale);
  EXPECT_EQ(meta_handle.meta_reads, 1);
  EXPECT_EQ(store_.meta_reads, 0);
}

}  // namespace
}  // namespace rcc
