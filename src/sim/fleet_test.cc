#include "sim/fleet.h"

#include <gtest/gtest.h>

#include "rcc/reader.h"
#include "sim/workload.h"

namespace rcc::sim {
namespace {

SimOwner owner(std::string name) {
  SimOwner o;
  o.key = RunnerKey{"prod", "Org", std::move(name)};
  o.key_str = o.key.str();
  return o;
}

TEST(SimInstanceId, RoundTrips) {
  EXPECT_TRUE(is_instance_id(instance_id_of(0)));
  EXPECT_EQ(instance_index_of(instance_id_of(12345)), 12345);
  EXPECT_EQ(instance_index_of("i-00000000000000001"), -1);
  EXPECT_EQ(instance_index_of("i-fffffffffffffffff"), -1);
  EXPECT_EQ(instance_index_of("not-an-id"), -1);
}

// Regression: 16 significant hex digits overflowed the signed accumulator of the parser (undefined
// behaviour; UBSan reports it) for ids at or past 2^63.
TEST(SimInstanceId, IdsPastTheIndexRangeAreNotOurs) {
  EXPECT_EQ(instance_index_of("i-0ffffffffffffffff"), -1);
  EXPECT_EQ(instance_index_of("i-08000000000000000"), 0x7600000000000000LL);
  EXPECT_EQ(instance_index_of("i-09fffffffffffffff"), -1);  // below the simulator's id base
}

TEST(SimFleet, TruthFollowsTransitions) {
  SimFleet fleet({owner("a").key_str, owner("b").key_str}, 0, 1);
  const auto x = fleet.launch(runner_tags(owner("a")), 0, 1000);
  const auto y = fleet.launch(runner_tags(owner("b")), 1, 1000);
  fleet.launch(Tags{{"Name", "other"}}, -1, 1000);
  EXPECT_EQ(fleet.active(0), 1);
  EXPECT_EQ(fleet.active_total(), 2);
  fleet.transition(x, InstanceState::kRunning, 2000);
  fleet.transition(x, InstanceState::kStopping, 3000);
  EXPECT_EQ(fleet.active(0), 0);
  fleet.transition(x, InstanceState::kStopped, 4000);
  fleet.transition(x, InstanceState::kPending, 5000);  // started again
  EXPECT_EQ(fleet.active(0), 1);
  EXPECT_EQ(fleet.instance(x).launch_ms, 5000);
  fleet.transition(y, InstanceState::kShuttingDown, 6000);
  fleet.transition(y, InstanceState::kTerminated, 7000);
  EXPECT_EQ(fleet.active(1), 0);
  EXPECT_EQ(fleet.active_total(), 1);
  EXPECT_EQ(fleet.listed(8000), 3);                 // the terminated one is still listed for an hour
  EXPECT_EQ(fleet.listed(7000 + 3600 * 1000 + 1), 2);
}

class SimEc2Test : public ::testing::Test {
 protected:
  SimEc2Test() : fleet_({owner("a").key_str, owner("b").key_str}, 0, 1) {
    options_.ec2_jitter_sigma = 0;
  }

  SimulationOptions options_;
  SimFleet fleet_;
  Timeline timeline_;
};

TEST_F(SimEc2Test, FiltersMatchTheScaleUpQuery) {
  SimEc2 ec2(fleet_, options_, 1, timeline_, nullptr);
  for (int i = 0; i < 3; ++i) fleet_.launch(runner_tags(owner("a")), 0, 0);
  fleet_.launch(runner_tags(owner("b")), 1, 0);
  Tags staging = runner_tags(owner("a"));
  staging[std::string(kTagEnvironment)] = "staging";
  fleet_.launch(staging, -1, 0);
  fleet_.transition(0, InstanceState::kShuttingDown, 10);

  timeline_.begin(1000);
  ec2.set_purpose(Ec2Purpose::kScaleUp);
  auto listed = ec2.describe_instances({{"instance-state-name", {"pending", "running"}},
                                        {"tag:ghr:environment", {"prod"}},
                                        {"tag:ghr:Owner", {"a"}}});
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(count_matching_runners(*listed, owner("a").key), 2);
  // The call took the modelled time: base + per listed instance + per result.
  EXPECT_EQ(timeline_.now_ms() - 1000,
            static_cast<std::int64_t>(options_.ec2_base_ms + options_.ec2_per_instance_ms * 5 +
                                      options_.ec2_per_result_ms * 2));
  auto env_wide = ec2.describe_instances(active_runner_filters("prod"));
  ASSERT_TRUE(env_wide.ok());
  EXPECT_EQ(env_wide->size(), 3u);
  auto by_ids = ec2.describe_instances({{"instance-id", {instance_id_of(0), instance_id_of(3), "i-0000000000000000f"}}});
  ASSERT_TRUE(by_ids.ok());
  EXPECT_EQ(by_ids->size(), 2u);
  EXPECT_FALSE(ec2.describe_instances({{"vpc-id", {"vpc-1"}}}).ok());
  EXPECT_EQ(ec2.tally().by_id_requests, 1);
  EXPECT_EQ(ec2.requests_sent(), 3);  // the rejected filter sends nothing
}

TEST_F(SimEc2Test, WildcardValuesScanInsteadOfUsingTheExactIndexes) {
  SimEc2 ec2(fleet_, options_, 1, timeline_, nullptr);
  for (int i = 0; i < 3; ++i) fleet_.launch(runner_tags(owner("a")), 0, 0);
  fleet_.launch(runner_tags(owner("b")), 1, 0);
  fleet_.transition(0, InstanceState::kShuttingDown, 10);
  fleet_.transition(0, InstanceState::kTerminated, 20);
  timeline_.begin(1000);
  // The owner index holds exact names: "?" must still match both owners.
  auto owners = ec2.describe_instances({{"instance-state-name", {"pending", "running"}}, {"tag:ghr:Owner", {"?"}}});
  ASSERT_TRUE(owners.ok()) << owners.status().to_string();
  EXPECT_EQ(owners->size(), 3u);
  // A state pattern that matches "terminated" lists the terminated instance too (not only the live ones).
  auto ended = ec2.describe_instances({{"instance-state-name", {"term*"}}, {"tag:ghr:Owner", {"a"}}});
  ASSERT_TRUE(ended.ok());
  ASSERT_EQ(ended->size(), 1u);
  EXPECT_EQ((*ended)[0].instance_id, instance_id_of(0));
  // The id index holds exact ids: a pattern is a filtered listing, not a lookup by id. The ids differ in
  // their last digit only: "*" there lists all four, an escaped digit the one.
  const std::string id = instance_id_of(1);
  const std::string stem = id.substr(0, id.size() - 1);
  auto by_pattern = ec2.describe_instances({{"instance-id", {stem + "*"}}});
  ASSERT_TRUE(by_pattern.ok());
  EXPECT_EQ(by_pattern->size(), 4u);
  auto escaped = ec2.describe_instances({{"instance-id", {stem + "\\" + id.back()}}});
  ASSERT_TRUE(escaped.ok());
  ASSERT_EQ(escaped->size(), 1u);
  EXPECT_EQ((*escaped)[0].instance_id, id);
  EXPECT_EQ(ec2.tally().by_id_requests, 0);
}

TEST_F(SimEc2Test, NewInstancesAreInvisibleUntilConsistent) {
  SimFleet fleet({owner("a").key_str}, 1000000, 7);  // mean visibility delay: 1000 s
  SimEc2 ec2(fleet, options_, 1, timeline_, nullptr);
  const auto x = fleet.launch(runner_tags(owner("a")), 0, 0);
  timeline_.begin(0);
  ec2.set_purpose(Ec2Purpose::kTagLookup);
  EXPECT_EQ(ec2.describe_instance(instance_id_of(x)).status().code(), Code::kNotFound);
  timeline_.begin(fleet.instance(x).visible_ms);
  ec2.set_purpose(Ec2Purpose::kTagLookup);
  EXPECT_TRUE(ec2.describe_instance(instance_id_of(x)).ok());
}

TEST_F(SimEc2Test, TokenBucketThrottlesAndRetriesInVirtualTime) {
  options_.ec2_burst = 5;
  options_.ec2_refill_per_s = 1;
  options_.ec2_by_id_min_ms = 0;
  options_.ec2_by_id_max_ms = 0;
  SimEc2 ec2(fleet_, options_, 1, timeline_, nullptr);
  fleet_.launch(runner_tags(owner("a")), 0, 0);
  timeline_.begin(0);
  ec2.set_purpose(Ec2Purpose::kTagLookup);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ec2.describe_instance(instance_id_of(0)).ok());
  EXPECT_EQ(ec2.tally().throttled[static_cast<int>(Ec2Purpose::kTagLookup)], 0);
  // The sixth request finds the bucket empty, backs off in virtual time, and gets through.
  ASSERT_TRUE(ec2.describe_instance(instance_id_of(0)).ok());
  EXPECT_GT(ec2.tally().throttled[static_cast<int>(Ec2Purpose::kTagLookup)], 0);
  EXPECT_GT(timeline_.now_ms(), 0);
  EXPECT_GT(ec2.requests_sent(), 6);
}

TEST_F(SimEc2Test, GivesUpAfterMaxAttempts) {
  options_.ec2_burst = 1;
  options_.ec2_refill_per_s = 0.001;
  options_.ec2_max_attempts = 3;
  options_.ec2_backoff_cap_ms = 10;
  SimEc2 ec2(fleet_, options_, 1, timeline_, nullptr);
  fleet_.launch(runner_tags(owner("a")), 0, 0);
  timeline_.begin(0);
  ec2.set_purpose(Ec2Purpose::kScaleUp);
  ASSERT_TRUE(ec2.describe_instances(active_runner_filters("prod")).ok());
  auto throttled = ec2.describe_instances(active_runner_filters("prod"));
  EXPECT_EQ(throttled.status().code(), Code::kThrottled);
  EXPECT_TRUE(throttled.status().retryable());
  EXPECT_EQ(ec2.tally().failed_calls, 1);
  EXPECT_EQ(ec2.requests_sent(), 4);
}

TEST(SimWorkload, IsDeterministicAndFollowsTheDay) {
  SimulationOptions options;
  options.runners_per_day = 4800;
  const Workload a = make_workload(options);
  const Workload b = make_workload(options);
  ASSERT_EQ(a.jobs.size(), 4800u);
  ASSERT_EQ(a.jobs.size(), b.jobs.size());
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    ASSERT_EQ(a.jobs[i].arrival_ms, b.jobs[i].arrival_ms);
    ASSERT_EQ(a.jobs[i].owner, b.jobs[i].owner);
  }
  std::int64_t night = 0, afternoon = 0;
  for (const auto& job : a.jobs) {
    const double hour = static_cast<double>(job.arrival_ms) / 3.6e6;
    if (hour >= 1 && hour < 4) ++night;
    if (hour >= 12 && hour < 15) ++afternoon;
  }
  EXPECT_GT(afternoon, 3 * night);
  EXPECT_FALSE(a.others.empty());
  EXPECT_NEAR(static_cast<double>(a.others.size()), 4800 * 0.1 / 0.9, 1.0);
  std::int64_t repo = 0;
  for (const auto& o : a.owners) repo += o.key.type == "Repo" ? 1 : 0;
  EXPECT_EQ(repo, 3);  // a quarter of 12
}

}  // namespace
}  // namespace rcc::sim
