// Retries: capped exponential backoff with full jitter inside a per-call budget.
//
// A call is attempted; when it fails with a retryable Status (Status::retryable()) and the budget allows,
// the caller sleeps random(0, min(max_delay, base_delay * 2^retry)) and tries again. The budget is both a
// number of attempts and a total time, and a sleep that would end past the total time or the work's
// Deadline (rcc/deadline.h) is not taken.
// Non-retryable failures are returned at once.
#pragma once

#include <chrono>
#include <cstdint>

#include "rcc/deadline.h"
#include "rcc/env.h"
#include "rcc/status.h"

namespace rcc {

struct RetryPolicy {
  int max_attempts = 5;                          // first attempt included; >= 1
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{2000};
  std::chrono::milliseconds total_budget{10000}; // from the first attempt; zero means no time limit
};

// The full-jitter delay before retry number `retry` (0 for the first retry), `uniform` in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform);

// The state of one call's budget. Usage:
//   RetryBudget budget(policy, env, deadline);
//   for (;;) { auto r = attempt(); if (r.ok() || !budget.retry_after(r.status())) return r; }
// Not thread-safe; one per call.
class RetryBudget {
 public:
  // Time is `env`'s monotonic clock; sleeps are env->sleep_ms(); jitter is env->uniform(). `env` (never null)
  // and `deadline` (null for none) must outlive the budget.
  RetryBudget(const RetryPolicy& policy, Env* env, const Deadline* deadline = nullptr);

  // Called after a failed attempt. Returns false (without sleeping) when `failure` is not retryable, the
  // attempts are spent, or the sleep would end at or past the policy's total budget or the deadline;
  // otherwise sleeps the backoff delay and returns true.
  bool retry_after(const Status& failure);

  int attempts() const { return attempts_; }  // attempts made so far (failures reported + 1)
  std::chrono::milliseconds slept() const { return slept_; }

 private:
  RetryPolicy policy_;
  Env* env_;
  const Deadline* deadline_;
  std::int64_t start_ms_;
  int attempts_ = 1;
  std::chrono::milliseconds slept_{0};
};

}  // namespace rcc
