#include "rcc/retry.h"

#include <algorithm>
#include <random>
#include <thread>

namespace rcc {

RetryEnv RetryEnv::real() {
  RetryEnv env;
  env.now = [] { return std::chrono::steady_clock::now(); };
  env.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  env.uniform = [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
  return env;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform) {
  const std::int64_t base = std::max<std::int64_t>(0, policy.base_delay.count());
  const std::int64_t cap = std::max<std::int64_t>(0, policy.max_delay.count());
  std::int64_t ceiling = base;
  for (int i = 0; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  const double u = std::clamp(uniform, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(u * static_cast<double>(ceiling)));
}

RetryBudget::RetryBudget(const RetryPolicy& policy, const RetryEnv& env)
    : policy_(policy), env_(env), start_(env_.now()) {}

bool RetryBudget::retry_after(const Status& failure) {
  if (failure.ok() || !failure.retryable()) return false;
  if (attempts_ >= policy_.max_attempts) return false;
  const std::chrono::milliseconds delay = backoff_delay(policy_, attempts_ - 1, env_.uniform());
  if (policy_.total_budget.count() > 0) {
    const auto deadline = start_ + policy_.total_budget;
    if (env_.now() + delay >= deadline) return false;
  }
  if (delay.count() > 0) env_.sleep(delay);
  slept_ += delay;
  ++attempts_;
  return true;
}

}  // namespace rcc
