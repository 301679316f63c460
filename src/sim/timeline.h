// Timeline: the virtual time of one activity of the simulation (a scale-up decision, a counter invocation,
// a schedule tick, a launch registration).
//
// The simulator's event queue orders activities by their start. Each activity runs its requests in a
// VirtualEnv of its own that starts at the activity's start and moves forward as each request takes its
// modelled latency (SimEc2, LatencyStore) or the code under test sleeps; so two activities that overlap in
// virtual time each see their own clock, and the time an activity took is the Env's clock when it returns
// minus its start. An activity that waits (a decision waiting for a key's slot lease) is set aside with
// suspend() while the activities due meanwhile run, and resume()d when its wait ends.
//
// The Timeline is itself the Env handed to the code under test (the function, the reader, the tag
// lookups): every call goes to the current activity's VirtualEnv, so objects built once see each
// activity's clock. It has no process environment (getenv is always nullopt).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rcc/env.h"

namespace rcc::sim {

class Timeline : public Env {
 public:
  Timeline() = default;
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // Starts an activity at `now_ms` (the previous activity's Env is dropped) and returns its Env.
  Env& begin(std::int64_t now_ms) {
    env_ = std::make_unique<VirtualEnv>(now_ms);
    return *env_;
  }
  // Sets the current activity aside (a decision waiting for a slot lease) and returns it; another
  // activity may begin() meanwhile. Requires begin().
  std::unique_ptr<VirtualEnv> suspend() { return std::move(env_); }
  // Makes an activity set aside by suspend() current again, its clock where it was.
  void resume(std::unique_ptr<VirtualEnv> env) { env_ = std::move(env); }
  // The Env of the current activity. Requires begin().
  VirtualEnv& env() { return *env_; }
  // The clock of the current activity. Requires begin().
  std::int64_t now_ms() { return env_->wall_ms(); }
  // Time passing in the current activity: a request's latency, a backoff. Requires begin().
  void advance(std::int64_t ms) { env_->advance(ms); }
  // A wait by the code under test (a retry backoff). Requires begin().
  void sleep(std::int64_t ms) { env_->sleep_ms(ms); }

  // Env, forwarded to the current activity's VirtualEnv. Require begin().
  std::int64_t wall_ms() override { return env_->wall_ms(); }
  std::int64_t monotonic_ms() override { return env_->monotonic_ms(); }
  void sleep_ms(std::int64_t ms) override { env_->sleep_ms(ms); }
  double uniform() override { return env_->uniform(); }
  std::optional<std::string> getenv(std::string_view) override { return std::nullopt; }

 private:
  std::unique_ptr<VirtualEnv> env_;
};

}  // namespace rcc::sim
