#include "rcc/retry.h"

#include <algorithm>

namespace rcc {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform) {
  const std::int64_t base = std::max<std::int64_t>(0, policy.base_delay.count());
  const std::int64_t cap = std::max<std::int64_t>(0, policy.max_delay.count());
  std::int64_t ceiling = base;
  for (int i = 0; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  const double u = std::clamp(uniform, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(u * static_cast<double>(ceiling)));
}

RetryBudget::RetryBudget(const RetryPolicy& policy, Env* env, const Deadline* deadline)
    : policy_(policy), env_(env), deadline_(deadline), start_ms_(env->monotonic_ms()) {}

bool RetryBudget::retry_after(const Status& failure) {
  if (failure.ok() || !failure.retryable()) return false;
  if (attempts_ >= policy_.max_attempts) return false;
  const std::chrono::milliseconds delay = backoff_delay(policy_, attempts_ - 1, env_->uniform());
  if (policy_.total_budget.count() > 0) {
    if (env_->monotonic_ms() + delay.count() >= start_ms_ + policy_.total_budget.count()) return false;
  }
  if (const auto left = remaining_ms(deadline_, *env_); left && delay.count() >= *left) return false;
  if (delay.count() > 0) env_->sleep_ms(delay.count());
  slept_ += delay;
  ++attempts_;
  return true;
}

}  // namespace rcc
