// TokenBucket: EC2's request-rate model (a bucket of `burst` tokens refilled at `refill_per_s` tokens per
// second; a request takes one token or is throttled), in the caller's milliseconds. One model for the EC2
// test server (on its Env's monotonic clock) and the simulator (on its virtual clock).
//
// Thread-compatible.
#pragma once

#include <algorithm>
#include <cstdint>

namespace rcc {

class TokenBucket {
 public:
  // A full bucket at `now_ms`. burst <= 0 disables throttling: take() always succeeds.
  TokenBucket(double burst, double refill_per_s, std::int64_t now_ms)
      : burst_(burst), refill_per_s_(refill_per_s), tokens_(burst), refilled_ms_(now_ms) {}

  // Refills for the time since the last refill, then takes one token when there is one. Returns whether
  // it took one. A `now_ms` behind the bucket's last refill (callers interleaving in virtual time) adds
  // nothing and is charged at the bucket's time.
  bool take(std::int64_t now_ms) {
    if (burst_ <= 0) return true;
    refill(now_ms);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // The tokens available at `now_ms` (refilling first).
  double tokens(std::int64_t now_ms) {
    refill(now_ms);
    return tokens_;
  }

 private:
  void refill(std::int64_t now_ms) {
    if (now_ms <= refilled_ms_) return;
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - refilled_ms_) * refill_per_s_ / 1000.0);
    refilled_ms_ = now_ms;
  }

  double burst_;
  double refill_per_s_;
  double tokens_;
  std::int64_t refilled_ms_;
};

}  // namespace rcc
