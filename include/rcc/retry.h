// Retries: capped exponential backoff with full jitter inside a per-call budget.
//
// A call is attempted; when it fails with a retryable Status (Status::retryable()) and the budget allows,
// the caller sleeps random(0, min(max_delay, base_delay * 2^retry)) and tries again. The budget is both a
// number of attempts and a total time: a sleep that would end past the deadline is not taken.
// Non-retryable failures are returned at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

#include "rcc/status.h"

namespace rcc {

struct RetryPolicy {
  int max_attempts = 5;                          // first attempt included; >= 1
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{2000};
  std::chrono::milliseconds total_budget{10000}; // from the first attempt; zero means no time limit
};

// The clock, sleeper and random source a retry loop uses; tests inject fakes.
struct RetryEnv {
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<double()> uniform;  // uniform in [0, 1)

  // The steady clock, std::this_thread::sleep_for, and a per-thread Mersenne Twister seeded randomly.
  static RetryEnv real();
};

// The full-jitter delay before retry number `retry` (0 for the first retry), `uniform` in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform);

// The state of one call's budget. Usage:
//   RetryBudget budget(policy, env);
//   for (;;) { auto r = attempt(); if (r.ok() || !budget.retry_after(r.status())) return r; }
// Not thread-safe; one per call.
class RetryBudget {
 public:
  RetryBudget(const RetryPolicy& policy, const RetryEnv& env);

  // Called after a failed attempt. Returns false (without sleeping) when `failure` is not retryable or the
  // attempts or time are spent; otherwise sleeps the backoff delay and returns true.
  bool retry_after(const Status& failure);

  int attempts() const { return attempts_; }  // attempts made so far (failures reported + 1)
  std::chrono::milliseconds slept() const { return slept_; }

 private:
  RetryPolicy policy_;
  RetryEnv env_;
  std::chrono::steady_clock::time_point start_;
  int attempts_ = 1;
  std::chrono::milliseconds slept_{0};
};

// Runs `attempt` (returning a Status or a Result<T>) until it succeeds, fails non-retryably, or the budget
// is spent; returns the last outcome.
template <typename Attempt>
auto with_retry(const RetryPolicy& policy, const RetryEnv& env, Attempt&& attempt) -> decltype(attempt()) {
  RetryBudget budget(policy, env);
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

}  // namespace rcc
