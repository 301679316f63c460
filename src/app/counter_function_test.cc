#include "app/counter_function.h"

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/fakes.h"
#include "core/counter.h"
#include "core/memory_store.h"

namespace rcc {
namespace {

using testing::FakeEc2;
using testing::FaultyStore;
using testing::runner_tags;

constexpr std::int64_t kT0 = 1700000000;  // event seconds
constexpr std::int64_t kNowMs = 1700000100000;

std::string event_json(const std::string& id, InstanceState state, std::int64_t time_s) {
  return format_instance_event(InstanceEvent{id, state, time_s, "evt-" + id});
}

std::string scheduled_json(std::int64_t time_s) {
  return R"({"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",)"
         R"("source":"aws.events","account":"123456789012","time":")" +
         format_rfc3339(time_s * 1000) +
         R"(","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/tick"],"detail":{}})";
}

class CounterFunctionTest : public ::testing::Test {
 protected:
  CounterFunctionTest()
      : log_(LogLevel::kDebug, [this](std::string_view l) { log_lines_.emplace_back(l); }),
        metrics_("RunnerCountCache", {{"Environment", "prod"}},
                 [this](std::string_view l) { metric_lines_.emplace_back(l); }) {
    config_.table_name = "t";
    config_.environments = {"prod"};
  }

  CounterFunction make(Store& store) {
    return CounterFunction(config_, store, ec2_, tags_, log_, metrics_, &clock_, &deadline_);
  }

  std::int64_t round_trips() const { return store_.reads() + store_.writes(); }

  // The last log line whose message is `message`.
  nlohmann::json last_log(const std::string& message) const {
    for (auto it = log_lines_.rbegin(); it != log_lines_.rend(); ++it) {
      auto parsed = nlohmann::json::parse(*it);
      if (parsed["message"] == message) return parsed;
    }
    return nlohmann::json();
  }

  CounterFunctionConfig config_;
  MemoryStore store_;
  FakeEc2 ec2_;
  std::int64_t slept_ms_ = 0;
  std::int64_t now_ms_ = kNowMs;
  // Sleeps advance the clock: a tag lookup's backoff spends the invocation's time.
  ClockEnv clock_{[this] { return now_ms_; },
                  [this](std::int64_t ms) {
                    slept_ms_ += ms;
                    now_ms_ += ms;
                  }};
  Deadline deadline_;  // shared with the tag source, as the clients share it in the Lambda
  Ec2TagSource tags_{ec2_, Ec2TagSource::Options{}, &clock_, &deadline_};
  std::vector<std::string> log_lines_;
  std::vector<std::string> metric_lines_;
  Logger log_;
  Metrics metrics_;
};

TEST_F(CounterFunctionTest, ReconcileStopsAtTheInvocationDeadlineMinusTheMargin) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);
  // 400 ms left: less than the margin, so the reconcile starts nothing and the tick fails in time.
  auto late = fn.handle("t1", scheduled_json(kNowMs / 1000), kNowMs + kDeadlineMarginMs - 100);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kTimeout);
  EXPECT_TRUE(late.status().retryable());
  EXPECT_NE(late.status().message().find("deadline"), std::string::npos) << late.status().message();
  EXPECT_EQ(ec2_.requests_sent(), 0);
  EXPECT_FALSE(deadline_.remaining_ms(clock_).has_value());  // cleared when the invocation ends

  // A minute left: the same tick reconciles.
  auto in_time = fn.handle("t2", scheduled_json(kNowMs / 1000), kNowMs + 60000);
  ASSERT_TRUE(in_time.ok()) << in_time.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(*in_time)["reconciled"], 1);
  EXPECT_EQ(store_.count_active("prod#Org#acme").value(), 1);
}

TEST_F(CounterFunctionTest, ADeadlineFarOffEitherWayIsClampedNotOverflowed) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);
  // The oldest deadline a header can give has passed: the tick fails in time (an overflow of
  // deadline - now would have wrapped it into the far future).
  auto past = fn.handle("t1", scheduled_json(kNowMs / 1000), std::numeric_limits<std::int64_t>::min());
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), Code::kTimeout);
  EXPECT_EQ(ec2_.requests_sent(), 0);

  // The latest one is far ahead, with a monotonic clock that does not start at the wall clock's value.
  struct Ahead : ClockEnv {
    using ClockEnv::ClockEnv;
    std::int64_t monotonic_ms() override { return std::numeric_limits<std::int64_t>::max() / 2; }
  } ahead{[this] { return now_ms_; }};
  CounterFunction far(config_, store_, ec2_, tags_, log_, metrics_, &ahead, &deadline_);
  auto future = far.handle("t2", scheduled_json(kNowMs / 1000), std::numeric_limits<std::int64_t>::max());
  ASSERT_TRUE(future.ok()) << future.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(*future)["reconciled"], 1);
}

TEST_F(CounterFunctionTest, TagLookupBackoffStopsAtTheInvocationDeadline) {
  // EC2 does not see the new instance yet; the default backoff (200, 400, 800 ms) would outlast the
  // invocation: 1000 ms left, 500 of them usable.
  ec2_.fail_next = 10;
  ec2_.failure = Status::NotFound("InvalidInstanceID.NotFound");
  CounterFunction fn = make(store_);
  auto result = fn.handle("r1", event_json("i-0000000000000000a", InstanceState::kPending, kT0), kNowMs + 1000);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);  // Lambda retries the event later
  EXPECT_EQ(slept_ms_, 200);                              // the 400 ms backoff did not fit
  EXPECT_LT(now_ms_, kNowMs + 1000 - kDeadlineMarginMs);

  // Without a deadline the lookup uses all its retries.
  ec2_.fail_next = 10;
  slept_ms_ = 0;
  ASSERT_FALSE(fn.handle("r2", event_json("i-0000000000000000a", InstanceState::kPending, kT0)).ok());
  EXPECT_EQ(slept_ms_, 200 + 400 + 800);
}

TEST_F(CounterFunctionTest, AShortStaleThresholdShortensTheHeartbeatInterval) {
  EXPECT_EQ(heartbeat_interval_ms(60000), kHeartbeatIntervalMs);
  EXPECT_EQ(heartbeat_interval_ms(4000), 2000);
  EXPECT_EQ(heartbeat_interval_ms(1), 1);
  config_.stale_threshold_ms = 4000;
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(fn.handle("r", event_json("i-0000000000000000a", InstanceState::kRunning, kT0 + i)).ok());
    now_ms_ += 1000;  // 0..4 s: stamps at 0, 2 and 4 s
  }
  EXPECT_EQ(fn.stats().heartbeats, 3);
}

TEST_F(CounterFunctionTest, BudgetNewInstanceThenKnownRunner) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);

  // New instance: one EC2 call and three store round trips, plus this process's first heartbeat stamp.
  auto first = fn.handle("r1", event_json("i-0000000000000000a", InstanceState::kPending, kT0));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(ec2_.requests_sent(), 1);
  EXPECT_EQ(round_trips(), 3 + 1);
  EXPECT_EQ(fn.stats().heartbeats, 1);

  // Known runner, within the heartbeat interval: exactly one store round trip, no EC2 call.
  now_ms_ += 1000;
  const std::int64_t before = round_trips();
  auto second = fn.handle("r2", event_json("i-0000000000000000a", InstanceState::kRunning, kT0 + 5));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(round_trips() - before, 1);
  EXPECT_EQ(ec2_.requests_sent(), 1);
  EXPECT_EQ(store_.count_active("prod#Org#acme").value(), 1);
  EXPECT_EQ(nlohmann::json::parse(*second)["outcome"], "applied");
}

TEST_F(CounterFunctionTest, StampsTheHeartbeatAtMostOncePerTenSeconds) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(fn.handle("r", event_json("i-0000000000000000a", InstanceState::kRunning, kT0 + i)).ok());
    now_ms_ += 2000;  // 0, 2, 4, 6, 8 s: one stamp
  }
  EXPECT_EQ(fn.stats().heartbeats, 1);
  EXPECT_EQ(store_.get_meta().value()->heartbeat_ms, kNowMs);
  now_ms_ = kNowMs + kHeartbeatIntervalMs;
  ASSERT_TRUE(fn.handle("r", event_json("i-0000000000000000a", InstanceState::kRunning, kT0 + 9)).ok());
  EXPECT_EQ(fn.stats().heartbeats, 2);
  EXPECT_EQ(store_.get_meta().value()->heartbeat_ms, kNowMs + kHeartbeatIntervalMs);
}

TEST_F(CounterFunctionTest, DuplicatesAndReorderingGiveExactCounts) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-0000000000000000b", InstanceState::kRunning, runner_tags("prod", "Repo", "acme/app"));
  ec2_.add("i-0000000000000000c", InstanceState::kRunning, {{"Name", "web"}});
  CounterFunction fn = make(store_);
  const std::vector<std::string> events = {
      event_json("i-0000000000000000a", InstanceState::kRunning, kT0 + 2),
      event_json("i-0000000000000000a", InstanceState::kPending, kT0),      // late
      event_json("i-0000000000000000b", InstanceState::kTerminated, kT0 + 50),
      event_json("i-0000000000000000b", InstanceState::kRunning, kT0 + 3),  // after its end
      event_json("i-0000000000000000a", InstanceState::kRunning, kT0 + 2),  // duplicate
      event_json("i-0000000000000000c", InstanceState::kRunning, kT0),      // not a runner
      event_json("i-0000000000000000c", InstanceState::kStopped, kT0 + 9),
  };
  for (const std::string& e : events) ASSERT_TRUE(fn.handle("r", e).ok());
  EXPECT_EQ(store_.active_counts(), (std::map<std::string, std::int64_t>{{"prod#Org#acme", 1}}));
  // The non-runner cost one lookup in its life; b's terminated event was its first, one lookup too.
  EXPECT_EQ(ec2_.requests_sent(), 3);
}

TEST_F(CounterFunctionTest, LogsOneJsonObjectPerEventWithRequestIdKeyAndOutcome) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);
  ASSERT_TRUE(fn.handle("req-42", event_json("i-0000000000000000a", InstanceState::kRunning, kT0)).ok());
  const auto line = last_log("event applied");
  ASSERT_FALSE(line.is_null());
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["request_id"], "req-42");
  EXPECT_EQ(line["instance_id"], "i-0000000000000000a");
  EXPECT_EQ(line["key"], "prod#Org#acme");
  EXPECT_EQ(line["outcome"], "applied");
  EXPECT_EQ(line["tag_lookup"], true);

  ASSERT_EQ(metric_lines_.size(), 1u);
  const auto emf = nlohmann::json::parse(metric_lines_[0]);
  EXPECT_EQ(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "RunnerCountCache");
  EXPECT_EQ(emf["Events"], 1);
  EXPECT_EQ(emf["TransitionsApplied"], 1);
  EXPECT_EQ(emf["TagLookups"], 1);
}

TEST_F(CounterFunctionTest, AcknowledgesMalformedAndForeignEvents) {
  CounterFunction fn = make(store_);
  const std::vector<std::string> payloads = {
      "not json",
      R"({"source":"aws.s3","detail-type":"Object Created","time":"2021-11-11T21:29:54Z","detail":{}})",
      R"({"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","id":"x",)"
      R"("time":"2021-11-11T21:29:54Z","detail":{"instance-id":"i-123","state":"running"}})",
  };
  for (const std::string& p : payloads) {
    auto result = fn.handle("r-bad", p);
    ASSERT_TRUE(result.ok()) << p;
    EXPECT_TRUE(nlohmann::json::parse(*result).contains("ignored")) << *result;
    const auto line = last_log("event ignored");
    EXPECT_EQ(line["level"], "warn");
    EXPECT_EQ(line["request_id"], "r-bad");
    EXPECT_FALSE(line["reason"].get<std::string>().empty());
  }
  EXPECT_EQ(fn.stats().malformed_events, 3);
  EXPECT_EQ(ec2_.requests_sent(), 0);
  // Nothing but the heartbeat is written: a delivered event, even a bad one, proves the pipeline alive.
  EXPECT_EQ(fn.stats().heartbeats, 1);
  EXPECT_EQ(store_.list_items().value().size(), 0u);
  EXPECT_EQ(nlohmann::json::parse(metric_lines_.back())["MalformedEvents"], 1);
}

// Regression: an event dated 2100 set the item's order, the real `terminated` was then duplicate_or_late
// and the instance stayed counted forever.
TEST_F(CounterFunctionTest, EventFromTheFutureIsIgnoredAndPinsNothing) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  CounterFunction fn = make(store_);
  const std::int64_t now_s = kNowMs / 1000;
  ASSERT_TRUE(fn.handle("r1", event_json("i-0000000000000000a", InstanceState::kRunning, kT0)).ok());

  auto future = fn.handle("r2", event_json("i-0000000000000000a", InstanceState::kRunning, 4102444800));  // 2100
  ASSERT_TRUE(future.ok()) << future.status().to_string();
  const std::string reason = nlohmann::json::parse(*future)["ignored"];
  EXPECT_TRUE(reason.starts_with("time: 2100-01-01T00:00:00Z is more than 300 s ahead")) << reason;
  // Within the skew bound an event is applied as usual.
  auto near = fn.handle("r3", event_json("i-0000000000000000a", InstanceState::kStopping, now_s + 299));
  ASSERT_TRUE(near.ok());
  EXPECT_EQ(nlohmann::json::parse(*near)["outcome"], "applied") << *near;

  auto terminated = fn.handle("r4", event_json("i-0000000000000000a", InstanceState::kTerminated, now_s + 299));
  ASSERT_TRUE(terminated.ok());
  EXPECT_EQ(nlohmann::json::parse(*terminated)["outcome"], "applied") << *terminated;
  EXPECT_EQ(store_.count_active(RunnerKey{"prod", "Org", "acme"}.str()).value(), 0);
  // apply_event refuses it too, writing nothing (rcc replay and the simulator call it directly).
  MemoryStore empty;
  auto applied = apply_event(empty, tags_, InstanceEvent{"i-0000000000000000b", InstanceState::kRunning, now_s + 301, "e"},
                             CounterOptions{{"prod"}, 60}, kNowMs);
  EXPECT_EQ(applied.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(empty.list_items().value().size(), 0u);
}

// Regression: a 10 MB bogus instance id was echoed in full into the /response (refused with 413) and the log.
// Today the event-size limit refuses that event first; an id just under the limit reaches the field check.
// Either way the answer and the log carry a bounded excerpt, and nothing is written.
TEST_F(CounterFunctionTest, IgnoredReasonEchoesABoundedExcerpt) {
  CounterFunction fn = make(store_);
  const struct {
    std::size_t id_bytes;
    const char* reason_names;
  } cases[] = {{10 * 1024 * 1024, "limit"}, {200 * 1024, "detail.instance-id"}};
  for (const auto& c : cases) {
    const std::string huge_id = "i-" + std::string(c.id_bytes, 'z');
    auto result = fn.handle("r-huge", R"({"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification",)"
                                      R"("id":"x","time":"2021-11-11T21:29:54Z","detail":{"instance-id":")" +
                                          huge_id + R"(","state":"running"}})");
    ASSERT_TRUE(result.ok()) << c.id_bytes;
    EXPECT_LT(result->size(), 512u) << c.id_bytes;
    const std::string reason = nlohmann::json::parse(*result)["ignored"];
    EXPECT_NE(reason.find(c.reason_names), std::string::npos) << reason;
    EXPECT_LT(last_log("event ignored").dump().size(), 1024u) << c.id_bytes;
  }
  EXPECT_EQ(store_.list_items().value().size(), 0u);
}

TEST_F(CounterFunctionTest, LookupFailureFailsTheInvocationWithItsCode) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ec2_.fail_next = 1;
  CounterFunction fn = make(store_);
  auto result = fn.handle("r1", event_json("i-0000000000000000a", InstanceState::kRunning, kT0));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kThrottled);
  EXPECT_EQ(last_log("event failed")["outcome"], "failed");
  EXPECT_EQ(last_log("event failed")["error_type"], "throttled");
  EXPECT_EQ(nlohmann::json::parse(metric_lines_.back())["Failures"], 1);
  EXPECT_EQ(store_.count_active("prod#Org#acme").value(), 0);

  // Lambda retries the event: it lands exactly once.
  auto retried = fn.handle("r1", event_json("i-0000000000000000a", InstanceState::kRunning, kT0));
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(store_.count_active("prod#Org#acme").value(), 1);
}

TEST_F(CounterFunctionTest, StoreWriteFailureFailsTheInvocation) {
  FaultyStore store;
  store.fail_writes = 1;
  CounterFunction fn = make(store);
  auto result = fn.handle("r1", event_json("i-0000000000000000a", InstanceState::kRunning, kT0));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
  EXPECT_EQ(fn.stats().failures, 1);
}

TEST_F(CounterFunctionTest, FirstTickReconcilesAndSeedsTheTable) {
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-0000000000000000b", InstanceState::kPending, runner_tags("prod", "Org", "acme"));
  ec2_.add("i-0000000000000000c", InstanceState::kRunning, runner_tags("staging", "Org", "acme"));
  CounterFunction fn = make(store_);

  auto tick = fn.handle("tick-1", scheduled_json(kNowMs / 1000));
  ASSERT_TRUE(tick.ok()) << tick.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(*tick)["reconciled"], 1);
  EXPECT_EQ(store_.count_active("prod#Org#acme").value(), 2);
  const auto meta = store_.get_meta().value();
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->heartbeat_ms, kNowMs);
  EXPECT_EQ(meta->reconciled_ms, kNowMs);
  EXPECT_EQ(last_log("reconciled")["added"], 2);
  EXPECT_EQ(nlohmann::json::parse(metric_lines_.back())["ReconcileDrift"], 2);
}

// One deployment for several runner configurations: the tick's one reconcile scan covers every
// environment, events of each are counted, and the meta item says which environments the table counts.
TEST_F(CounterFunctionTest, SeveralEnvironmentsShareOneScanAndOneMetaItem) {
  config_.environments = {"ghr-linux-x64", "ghr-linux-arm64"};
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("ghr-linux-x64", "Org", "acme"));
  ec2_.add("i-0000000000000000b", InstanceState::kRunning, runner_tags("ghr-linux-arm64", "Org", "acme"));
  ec2_.add("i-0000000000000000c", InstanceState::kRunning, runner_tags("ghr-windows-x64", "Org", "acme"));
  ec2_.add("i-0000000000000000d", InstanceState::kPending, runner_tags("ghr-linux-arm64", "Repo", "acme/app"));
  CounterFunction fn = make(store_);

  auto tick = fn.handle("tick-1", scheduled_json(kNowMs / 1000));
  ASSERT_TRUE(tick.ok()) << tick.status().to_string();
  EXPECT_EQ(ec2_.requests_sent(), 1);  // one DescribeInstances scan for both environments
  EXPECT_EQ(ec2_.last_filters[1].values, config_.environments);
  EXPECT_EQ(store_.count_active("ghr-linux-x64#Org#acme").value(), 1);
  EXPECT_EQ(store_.count_active("ghr-linux-arm64#Org#acme").value(), 1);
  EXPECT_EQ(store_.count_active("ghr-linux-arm64#Repo#acme/app").value(), 1);
  EXPECT_EQ(store_.count_active("ghr-windows-x64#Org#acme").value(), 0);
  EXPECT_EQ(store_.get_meta().value()->environments,
            (std::vector<std::string>{"ghr-linux-arm64", "ghr-linux-x64"}));

  ec2_.add("i-0000000000000000e", InstanceState::kPending, runner_tags("ghr-linux-x64", "Org", "acme"));
  now_ms_ += 1000;
  auto event = fn.handle("r2", event_json("i-0000000000000000e", InstanceState::kPending, now_ms_ / 1000));
  ASSERT_TRUE(event.ok()) << event.status().to_string();
  EXPECT_EQ(store_.count_active("ghr-linux-x64#Org#acme").value(), 2);
}

// A configuration change drops an environment: reconcile removes its entries from the index, since the
// meta item no longer vouches for them.
TEST_F(CounterFunctionTest, ReconcileRemovesEntriesOfAnEnvironmentNoLongerCounted) {
  config_.environments = {"old", "prod"};
  ec2_.add("i-0000000000000000a", InstanceState::kRunning, runner_tags("old", "Org", "acme"));
  ec2_.add("i-0000000000000000b", InstanceState::kRunning, runner_tags("prod", "Org", "acme"));
  {
    CounterFunction fn = make(store_);
    ASSERT_TRUE(fn.handle("tick-1", scheduled_json(kNowMs / 1000)).ok());
  }
  ASSERT_EQ(store_.count_active("old#Org#acme").value(), 1);
  config_.environments = {"prod"};
  now_ms_ += 3'600'000;  // past the reconcile interval and the grace window
  CounterFunction fn = make(store_);
  auto tick = fn.handle("tick-2", scheduled_json(now_ms_ / 1000));
  ASSERT_TRUE(tick.ok()) << tick.status().to_string();
  EXPECT_EQ(nlohmann::json::parse(*tick)["removed"], 1);
  EXPECT_EQ(store_.count_active("old#Org#acme").value(), 0);
  EXPECT_EQ(store_.count_active("prod#Org#acme").value(), 1);
  EXPECT_EQ(store_.get_meta().value()->environments, (std::vector<std::string>{"prod"}));
}

TEST_F(CounterFunctionTest, TicksReconcileOnlyWhenTheIntervalPassed) {
  config_.reconcile_interval_s = 300;
  CounterFunction fn = make(store_);
  ASSERT_TRUE(fn.handle("t1", scheduled_json(kNowMs / 1000)).ok());
  EXPECT_EQ(fn.stats().reconciles, 1);

  now_ms_ = kNowMs + 60000;
  auto second = fn.handle("t2", scheduled_json(now_ms_ / 1000));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(nlohmann::json::parse(*second)["reconciled"], 0);
  EXPECT_EQ(fn.stats().reconciles, 1);
  EXPECT_EQ(store_.get_meta().value()->heartbeat_ms, now_ms_);

  now_ms_ = kNowMs + 300000;
  ASSERT_TRUE(fn.handle("t3", scheduled_json(now_ms_ / 1000)).ok());
  EXPECT_EQ(fn.stats().reconciles, 2);
  EXPECT_EQ(store_.get_meta().value()->reconciled_ms, now_ms_);
}

TEST_F(CounterFunctionTest, ReconcileFailureFailsTheTick) {
  ec2_.fail_next = 1;
  ec2_.failure = Status::Unavailable("InternalError");
  CounterFunction fn = make(store_);
  auto tick = fn.handle("t1", scheduled_json(kNowMs / 1000));
  ASSERT_FALSE(tick.ok());
  EXPECT_EQ(tick.status().code(), Code::kUnavailable);
  EXPECT_EQ(store_.get_meta().value()->heartbeat_ms, kNowMs);  // the stamp landed before
}

TEST(CounterFunctionConfig, HasExactlyTheEightVariables) {
  std::vector<std::string> names;
  for (const FunctionVariable& v : function_variables()) names.emplace_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"RUNNER_COUNT_CACHE_TABLE_NAME", "RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS",
                                             "ENVIRONMENT_FILTER", "RECONCILE_INTERVAL_S", "TTL_SECONDS", "LOG_LEVEL",
                                             "METRICS_NAMESPACE", "LOOKUP_UNREGISTERED"}));
}

TEST(CounterFunctionConfig, LookupUnregisteredIsTrueOrFalse) {
  auto base = [](std::string value) {
    return testing::env_with(
        {{"RUNNER_COUNT_CACHE_TABLE_NAME", "tbl"}, {"ENVIRONMENT_FILTER", "prod"}, {"LOOKUP_UNREGISTERED", value}});
  };
  EXPECT_TRUE(config_from_env(*base("true"))->lookup_unregistered);
  EXPECT_FALSE(config_from_env(*base("false"))->lookup_unregistered);
  const auto bad = config_from_env(*base("no"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LOOKUP_UNREGISTERED"), std::string::npos) << bad.status().message();
}

TEST(CounterFunctionConfig, AppliesDefaults) {
  auto config = config_from_env(*testing::env_with({{"RUNNER_COUNT_CACHE_TABLE_NAME", "tbl"}, {"ENVIRONMENT_FILTER", "prod"}}));
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->table_name, "tbl");
  EXPECT_EQ(config->environments, std::vector<std::string>{"prod"});
  EXPECT_EQ(config->stale_threshold_ms, 60000);
  EXPECT_EQ(config->reconcile_interval_s, 300);
  EXPECT_EQ(config->ttl_seconds, 86400);
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_EQ(config->metrics_namespace, "RunnerCountCache");
  EXPECT_TRUE(config->lookup_unregistered);
}

TEST(CounterFunctionConfig, ReadsEveryVariable) {
  auto config = config_from_env(*testing::env_with({{"RUNNER_COUNT_CACHE_TABLE_NAME", "tbl"},
                                        {"RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS", "90000"},
                                        {"ENVIRONMENT_FILTER", "prod"},
                                        {"RECONCILE_INTERVAL_S", "600"},
                                        {"TTL_SECONDS", "3600"},
                                        {"LOG_LEVEL", "DEBUG"},
                                        {"METRICS_NAMESPACE", "Custom/Runners"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->stale_threshold_ms, 90000);
  EXPECT_EQ(config->reconcile_interval_s, 600);
  EXPECT_EQ(config->ttl_seconds, 3600);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_EQ(config->metrics_namespace, "Custom/Runners");
}

TEST(CounterFunctionConfig, EnvironmentFilterTakesACommaSeparatedList) {
  auto config = config_from_env(*testing::env_with({{"RUNNER_COUNT_CACHE_TABLE_NAME", "tbl"},
                                        {"ENVIRONMENT_FILTER", "multi-runner-linux-x64-ubuntu-2204,multi-runner-win"}}));
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->environments,
            (std::vector<std::string>{"multi-runner-linux-x64-ubuntu-2204", "multi-runner-win"}));
}

TEST(CounterFunctionConfig, RejectsMissingAndMalformedValuesNamingTheVariable) {
  const std::map<std::string, std::string> base = {{"RUNNER_COUNT_CACHE_TABLE_NAME", "tbl"},
                                                   {"ENVIRONMENT_FILTER", "prod"}};
  struct Case {
    std::string name;
    std::optional<std::string> value;  // nullopt: remove it
  };
  const std::vector<Case> cases = {
      {"RUNNER_COUNT_CACHE_TABLE_NAME", std::nullopt},
      {"ENVIRONMENT_FILTER", std::nullopt},
      {"ENVIRONMENT_FILTER", ""},
      {"ENVIRONMENT_FILTER", "prod,"},
      {"ENVIRONMENT_FILTER", "prod, staging"},
      {"ENVIRONMENT_FILTER", "prod,prod"},
      {"RECONCILE_INTERVAL_S", "5m"},
      {"RECONCILE_INTERVAL_S", "0"},
      {"TTL_SECONDS", "-1"},
      {"TTL_SECONDS", "99999999999999999999"},
      {"RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS", " 60000"},
      // Regression: absurd values overflowed reconcile_interval_s * 1000, 3 * interval, now / 1000 + ttl.
      {"RECONCILE_INTERVAL_S", "9223372036854775807"},
      {"RECONCILE_INTERVAL_S", "31536001"},
      {"TTL_SECONDS", "9223372036854775807"},
      {"RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS", "9223372036854775807"},
      {"LOG_LEVEL", "verbose"},
  };
  for (const Case& c : cases) {
    auto env = base;
    if (c.value) {
      env[c.name] = *c.value;
    } else {
      env.erase(c.name);
    }
    auto config = config_from_env(*testing::env_with(env));
    ASSERT_FALSE(config.ok()) << c.name;
    EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
    EXPECT_NE(config.status().message().find(c.name), std::string::npos) << config.status().message();
  }
}

}  // namespace
}  // namespace rcc
