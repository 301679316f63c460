#include "rcc/retry.h"

#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "rcc/deadline.h"
#include "rcc/env.h"

namespace rcc {
namespace {

using std::chrono::milliseconds;

// Virtual time (the clock moves only by the loop's sleeps) with a scripted jitter draw.
class FixedJitterEnv : public VirtualEnv {
 public:
  double uniform() override { return jitter; }
  double jitter = 0.999;
};

// The loop a caller writes around a RetryBudget: attempt until success, a final failure, or the budget.
template <typename Attempt>
auto with_budget(const RetryPolicy& policy, Env* env, const Deadline* deadline, Attempt&& attempt)
    -> decltype(attempt()) {
  RetryBudget budget(policy, env, deadline);
  for (;;) {
    auto outcome = attempt();
    Status status;
    if constexpr (std::is_same_v<decltype(outcome), Status>) {
      status = outcome;
    } else {
      status = outcome.status();
    }
    if (status.ok() || !budget.retry_after(status)) return outcome;
  }
}

TEST(Backoff, FullJitterUnderACappedExponentialCeiling) {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  EXPECT_EQ(backoff_delay(p, 0, 0.5), milliseconds(50));
  EXPECT_EQ(backoff_delay(p, 1, 0.5), milliseconds(100));
  EXPECT_EQ(backoff_delay(p, 2, 0.5), milliseconds(200));
  EXPECT_EQ(backoff_delay(p, 3, 0.5), milliseconds(400));
  EXPECT_EQ(backoff_delay(p, 4, 0.5), milliseconds(500));   // ceiling capped at 1000
  EXPECT_EQ(backoff_delay(p, 40, 0.5), milliseconds(500));  // no overflow on large retry numbers
  EXPECT_EQ(backoff_delay(p, 3, 0.0), milliseconds(0));
}

TEST(RetryBudget, RetriesRetryableFailuresUpToMaxAttempts) {
  FixedJitterEnv env;
  RetryPolicy p;
  p.max_attempts = 3;
  p.base_delay = milliseconds(10);
  p.total_budget = milliseconds(0);
  int calls = 0;
  std::vector<std::int64_t> attempt_times;
  Status s = with_budget(p, &env, nullptr, [&] {
    ++calls;
    attempt_times.push_back(env.monotonic_ms());
    return Status::Throttled("slow down");
  });
  EXPECT_EQ(s.code(), Code::kThrottled);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(env.sleeps(), 2);
  // Sleeps of 0.999 * 10 = 9 and 0.999 * 20 = 19 ms.
  EXPECT_EQ(attempt_times, (std::vector<std::int64_t>{0, 9, 28}));
}

TEST(RetryBudget, NonRetryableFailureIsReturnedAtOnce) {
  FixedJitterEnv env;
  int calls = 0;
  Result<int> r = with_budget(RetryPolicy{}, &env, nullptr, [&]() -> Result<int> {
    ++calls;
    return Status::InvalidArgument("bad");
  });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(env.sleeps(), 0);
}

TEST(RetryBudget, SucceedsAfterTransientFailures) {
  FixedJitterEnv env;
  int calls = 0;
  Result<int> r = with_budget(RetryPolicy{}, &env, nullptr, [&]() -> Result<int> {
    if (++calls < 3) return Status::Unavailable("503");
    return 42;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
}

TEST(RetryBudget, StopsWhenTheNextSleepWouldPassTheTimeBudget) {
  FixedJitterEnv env;
  RetryPolicy p;
  p.max_attempts = 100;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(100);
  p.total_budget = milliseconds(350);
  int calls = 0;
  Status s = with_budget(p, &env, nullptr, [&] {
    ++calls;
    return Status::Timeout("t");
  });
  EXPECT_EQ(s.code(), Code::kTimeout);
  // Sleeps of 99 ms: 99, 198, 297 fit under 350; a fourth would end at 396.
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(env.sleeps(), 3);
}

TEST(RetryBudget, StopsWhenTheNextSleepWouldPassTheDeadline) {
  FixedJitterEnv env;
  env.advance(1000);
  Deadline deadline;
  deadline.set(1250);  // 250 ms left, far less than the policy's 10 s
  RetryPolicy p;
  p.max_attempts = 100;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(100);
  int calls = 0;
  Status s = with_budget(p, &env, &deadline, [&] {
    ++calls;
    return Status::Unavailable("503");
  });
  EXPECT_EQ(s.code(), Code::kUnavailable);
  // Sleeps of 99 ms end at 1099 and 1198; a third would end at 1297, past 1250.
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(env.monotonic_ms(), 1198);
}

TEST(RetryBudget, NoRetryOnceTheDeadlineHasPassed) {
  FixedJitterEnv env;
  env.jitter = 0.0;  // even a zero sleep is not taken
  Deadline deadline;
  deadline.set(0);
  RetryBudget budget(RetryPolicy{}, &env, &deadline);
  EXPECT_FALSE(budget.retry_after(Status::Throttled("slow down")));
  deadline.clear();
  EXPECT_TRUE(budget.retry_after(Status::Throttled("slow down")));
}

TEST(RetryBudget, CountsAttempts) {
  FixedJitterEnv env;
  RetryPolicy p;
  RetryBudget budget(p, &env);
  EXPECT_EQ(budget.attempts(), 1);
  EXPECT_TRUE(budget.retry_after(Status::Unavailable("x")));
  EXPECT_EQ(budget.attempts(), 2);
  EXPECT_FALSE(budget.retry_after(Status()));
  EXPECT_FALSE(budget.retry_after(Status::PermissionDenied("no")));
}

}  // namespace
}  // namespace rcc
