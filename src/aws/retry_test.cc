#include "rcc/retry.h"

#include <vector>

#include <gtest/gtest.h>

namespace rcc {
namespace {

using std::chrono::milliseconds;

// A fake clock that advances only when the retry loop sleeps, and a scripted random source.
struct FakeEnv {
  std::chrono::steady_clock::time_point now{};
  std::vector<milliseconds> sleeps;
  double uniform = 0.999;

  RetryEnv env() {
    RetryEnv e;
    e.now = [this] { return now; };
    e.sleep = [this](milliseconds d) {
      sleeps.push_back(d);
      now += d;
    };
    e.uniform = [this] { return uniform; };
    return e;
  }
};

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
  FakeEnv fake;
  RetryPolicy p;
  p.max_attempts = 3;
  p.base_delay = milliseconds(10);
  p.total_budget = milliseconds(0);
  const RetryEnv env = fake.env();
  int calls = 0;
  Status s = with_retry(p, env, [&] {
    ++calls;
    return Status::Throttled("slow down");
  });
  EXPECT_EQ(s.code(), Code::kThrottled);
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(fake.sleeps.size(), 2u);
  EXPECT_EQ(fake.sleeps[0], milliseconds(9));   // 0.999 * 10
  EXPECT_EQ(fake.sleeps[1], milliseconds(19));  // 0.999 * 20
}

TEST(RetryBudget, NonRetryableFailureIsReturnedAtOnce) {
  FakeEnv fake;
  const RetryEnv env = fake.env();
  int calls = 0;
  Result<int> r = with_retry(RetryPolicy{}, env, [&]() -> Result<int> {
    ++calls;
    return Status::InvalidArgument("bad");
  });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(fake.sleeps.empty());
}

TEST(RetryBudget, SucceedsAfterTransientFailures) {
  FakeEnv fake;
  const RetryEnv env = fake.env();
  int calls = 0;
  Result<int> r = with_retry(RetryPolicy{}, env, [&]() -> Result<int> {
    if (++calls < 3) return Status::Unavailable("503");
    return 42;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
}

TEST(RetryBudget, StopsWhenTheNextSleepWouldPassTheTimeBudget) {
  FakeEnv fake;
  RetryPolicy p;
  p.max_attempts = 100;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(100);
  p.total_budget = milliseconds(350);
  const RetryEnv env = fake.env();
  int calls = 0;
  Status s = with_retry(p, env, [&] {
    ++calls;
    return Status::Timeout("t");
  });
  EXPECT_EQ(s.code(), Code::kTimeout);
  // Sleeps of 99 ms: 99, 198, 297 fit under 350; a fourth would end at 396.
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(fake.sleeps.size(), 3u);
}

TEST(RetryBudget, CountsAttempts) {
  FakeEnv fake;
  const RetryEnv env = fake.env();
  RetryPolicy p;
  RetryBudget budget(p, env);
  EXPECT_EQ(budget.attempts(), 1);
  EXPECT_TRUE(budget.retry_after(Status::Unavailable("x")));
  EXPECT_EQ(budget.attempts(), 2);
  EXPECT_FALSE(budget.retry_after(Status()));
  EXPECT_FALSE(budget.retry_after(Status::PermissionDenied("no")));
}

TEST(RetryEnv, RealUniformIsInRange) {
  const RetryEnv env = RetryEnv::real();
  for (int i = 0; i < 1000; ++i) {
    const double u = env.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace rcc
