#include "app/reconcile.h"

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "core/memory_store.h"

namespace rcc {
namespace {

using testing::FakeEc2;

Tags runner(const std::string& owner, const std::string& env = "prod") {
  return Tags{{"ghr:Application", "github-action-runner"},
              {"ghr:environment", env},
              {"ghr:Type", "Org"},
              {"ghr:Owner", owner}};
}

InstanceIdentity runner_identity(const std::string& owner, const std::string& env = "prod") {
  return InstanceIdentity{true, RunnerKey{env, "Org", owner}};
}

class ReconcileTest : public ::testing::Test {
 protected:
  Result<ReconcileResult> run(bool dry_run = false) {
    ReconcileOptions options;
    options.environments = {"prod"};
    options.grace_ms = 120'000;
    options.dry_run = dry_run;
    return reconcile(store_, ec2_, options, &clock_);
  }

  void put(const std::string& id, InstanceState state, std::int64_t time_s, InstanceIdentity identity,
           std::int64_t written_ms) {
    auto w = store_.apply(make_transition(WriteMode::kUpsert, id, state, time_s, written_ms, 86400, identity));
    ASSERT_TRUE(w.ok());
  }

  std::int64_t count(const std::string& key) { return *store_.count_active(key); }

  MemoryStore store_;
  FakeEc2 ec2_;
  std::int64_t now_ms_ = 10'000'000;  // long after the items below were written
  ClockEnv clock_{[this] { return now_ms_; }};
};

TEST_F(ReconcileTest, SeedsAnEmptyTableWhileRunnersAreLive) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner("acme"));
  ec2_.add("i-00000002", InstanceState::kPending, runner("acme"));
  ec2_.add("i-00000003", InstanceState::kRunning, runner("globex"));
  ec2_.add("i-00000004", InstanceState::kRunning, runner("acme", "staging"));
  ec2_.add("i-00000005", InstanceState::kRunning, Tags{{"Name", "bastion"}});
  ec2_.add("i-00000006", InstanceState::kStopped, runner("acme"));
  auto result = run();
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->report.added, 3);
  EXPECT_EQ(result->report.removed, 0);
  EXPECT_EQ(result->report.ec2_active, 3);
  EXPECT_EQ(result->report.table_active, 0);
  EXPECT_EQ(count("prod#Org#acme"), 2);
  EXPECT_EQ(count("prod#Org#globex"), 1);
  EXPECT_EQ(count("staging#Org#acme"), 0);
  auto meta = *store_.get_meta();
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->reconciled_ms, std::optional<std::int64_t>(now_ms_));
  EXPECT_EQ(meta->last_reconcile->added, 3);
  EXPECT_EQ(meta->last_reconcile->ec2_calls, 1);
}

TEST_F(ReconcileTest, ATableOnlyInstanceEc2ForgotIsRecordedTerminated) {
  put("i-00000001", InstanceState::kRunning, 100, runner_identity("acme"), 100'000);
  auto result = run();
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->report.removed, 1);
  EXPECT_EQ(result->report.ec2_calls, 2) << "the scan, then one describe for the table-only set";
  EXPECT_EQ(count("prod#Org#acme"), 0);
  EXPECT_EQ((*store_.get("i-00000001"))->state, InstanceState::kTerminated);
}

TEST_F(ReconcileTest, AStoppedInstanceIsRecordedStoppedNotTerminated) {
  put("i-00000001", InstanceState::kRunning, 100, runner_identity("acme"), 100'000);
  ec2_.add("i-00000001", InstanceState::kStopped, runner("acme"));
  auto result = run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->findings.at(0).ec2_state, InstanceState::kStopped);
  EXPECT_EQ((*store_.get("i-00000001"))->state, InstanceState::kStopped);
  EXPECT_EQ(count("prod#Org#acme"), 0);
  // Started again later, its event still applies: the repair was an observation at the scan's time.
  auto w = store_.apply(make_transition(WriteMode::kKnownRunner, "i-00000001", InstanceState::kPending,
                                        now_ms_ / 1000 + 5, now_ms_, 86400));
  EXPECT_EQ(*w, WriteOutcome::kApplied);
  EXPECT_EQ(count("prod#Org#acme"), 1);
}

TEST_F(ReconcileTest, RecentDifferencesAreLeftToEventsInFlight) {
  put("i-00000001", InstanceState::kRunning, 100, runner_identity("acme"), now_ms_ - 30'000);  // item just changed
  ec2_.add("i-00000002", InstanceState::kPending, runner("acme"), now_ms_ - 5'000);          // just launched
  auto result = run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->report.left_for_grace, 2);
  EXPECT_EQ(result->report.added + result->report.removed, 0);
  EXPECT_EQ(count("prod#Org#acme"), 1);
  EXPECT_EQ(*store_.get("i-00000002"), std::nullopt);
}

TEST_F(ReconcileTest, AnEventNewerThanTheScanWins) {
  // The item was written long ago by wall clock but records an observation later than the scan (clock
  // skew between EventBridge time and the reconcile's clock): the conditional write must not undo it.
  put("i-00000001", InstanceState::kRunning, now_ms_ / 1000 + 60, runner_identity("acme"), 100'000);
  auto result = run();
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->findings.size(), 1u);
  EXPECT_FALSE(result->findings[0].written);
  EXPECT_EQ(result->findings[0].kind, ReconcileFinding::Kind::kLeftForGrace);
  EXPECT_EQ(result->report.removed, 0) << "nothing was repaired";
  EXPECT_EQ(result->report.left_for_grace, 1);
  EXPECT_EQ(count("prod#Org#acme"), 1);
}

// Regression: an item whose order lay in 2100 (an event dated 2100, accepted before event times were
// bounded) was "left for grace, not written" by every reconcile, and the cache counted the runner forever.
TEST_F(ReconcileTest, AnItemOrderedFarInTheFutureIsRepaired) {
  const std::int64_t year_2100_s = 4'102'444'800;
  put("i-00000001", InstanceState::kRunning, year_2100_s, runner_identity("acme"), 100'000);
  // The same, written by a writer whose clock ran a day ahead: its updated_ms is in the future too.
  put("i-00000002", InstanceState::kRunning, now_ms_ / 1000 + 86'400, runner_identity("acme"), now_ms_ + 86'400'000);
  // Within the skew bound the order rule holds: an observation 4 minutes ahead still wins over the scan.
  put("i-00000003", InstanceState::kRunning, now_ms_ / 1000 + 240, runner_identity("acme"), 100'000);
  ASSERT_EQ(count("prod#Org#acme"), 3);
  auto result = run();
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->report.removed, 2);
  EXPECT_EQ(result->report.left_for_grace, 1);
  EXPECT_EQ((*store_.get("i-00000001"))->state, InstanceState::kTerminated);
  EXPECT_EQ((*store_.get("i-00000002"))->state, InstanceState::kTerminated);
  EXPECT_EQ((*store_.get("i-00000003"))->state, InstanceState::kRunning);
  EXPECT_EQ(count("prod#Org#acme"), 1);
}

TEST_F(ReconcileTest, AKeyChangeMovesTheRunner) {
  put("i-00000001", InstanceState::kRunning, 100, runner_identity("acme"), 100'000);
  ec2_.add("i-00000001", InstanceState::kRunning, runner("globex"));
  auto result = run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(count("prod#Org#acme"), 0);
  EXPECT_EQ(count("prod#Org#globex"), 1);
}

TEST_F(ReconcileTest, DryRunFindsButWritesNothing) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner("acme"));
  put("i-00000002", InstanceState::kRunning, 100, runner_identity("acme"), 100'000);
  auto result = run(/*dry_run=*/true);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->report.added, 1);
  EXPECT_EQ(result->report.removed, 1);
  for (const auto& finding : result->findings) EXPECT_FALSE(finding.written);
  EXPECT_EQ(*store_.get("i-00000001"), std::nullopt);
  EXPECT_EQ((*store_.get("i-00000002"))->state, InstanceState::kRunning);
  EXPECT_EQ(*store_.get_meta(), std::nullopt);
}

// An active entry of an environment the deployment does not count (left by an earlier
// ENVIRONMENT_FILTER) is not vouched for by the meta item any more: reconcile removes it.
TEST_F(ReconcileTest, EntriesOfEnvironmentsNotCountedAreRemoved) {
  put("i-00000001", InstanceState::kRunning, 100, runner_identity("acme", "staging"), 100'000);
  auto result = run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->report.table_active, 1);
  EXPECT_EQ(result->report.removed, 1);
  EXPECT_EQ(count("staging#Org#acme"), 0);
}

TEST_F(ReconcileTest, AnEc2FailureIsReturnedAndNothingIsRecorded) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner("acme"));
  ec2_.fail_next = 1;
  auto result = run();
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().retryable());
  EXPECT_NE(result.status().message().find("reconcile scan"), std::string::npos);
  EXPECT_EQ(*store_.get_meta(), std::nullopt);
}

TEST_F(ReconcileTest, AgreementFindsNothing) {
  ec2_.add("i-00000001", InstanceState::kRunning, runner("acme"));
  put("i-00000001", InstanceState::kRunning, 100, runner_identity("acme"), 100'000);
  auto result = run();
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->findings.empty());
  EXPECT_EQ(result->report.ec2_calls, 1);
}

}  // namespace
}  // namespace rcc
