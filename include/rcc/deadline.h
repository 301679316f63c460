// Deadline: the time by which the work in progress must be finished, on an Env's monotonic clock.
//
// A Lambda invocation has one (Lambda-Runtime-Deadline-Ms). The code that learns it sets it; every loop that
// could outlive it reads it: AWS call retries (each attempt's request timeout too), the EC2 tag lookup's
// not-found retries, and reconcile between its steps. One Deadline is shared by reference between them;
// the composition root owns it.
//
// Thread-safe: set() and clear() may race with readers.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>

#include "rcc/env.h"

namespace rcc {

class Deadline {
 public:
  // No deadline.
  Deadline() = default;
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // The work must be done when env.monotonic_ms() reaches `monotonic_ms`.
  void set(std::int64_t monotonic_ms) { at_.store(monotonic_ms, std::memory_order_relaxed); }
  // No deadline any more.
  void clear() { at_.store(kNone, std::memory_order_relaxed); }

  // Milliseconds left on `env`'s monotonic clock (negative once passed); nullopt when there is no deadline.
  std::optional<std::int64_t> remaining_ms(Env& env) const {
    const std::int64_t at = at_.load(std::memory_order_relaxed);
    if (at == kNone) return std::nullopt;
    return at - env.monotonic_ms();
  }

  // True when a deadline is set and has been reached.
  bool expired(Env& env) const {
    const std::optional<std::int64_t> left = remaining_ms(env);
    return left && *left <= 0;
  }

 private:
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  std::atomic<std::int64_t> at_{kNone};
};

// remaining_ms() of `deadline`, or nullopt when `deadline` is null.
inline std::optional<std::int64_t> remaining_ms(const Deadline* deadline, Env& env) {
  return deadline == nullptr ? std::nullopt : deadline->remaining_ms(env);
}

}  // namespace rcc
