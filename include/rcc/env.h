// Env: everything the project asks of the operating system's clocks, sleep, randomness and environment
// variables, behind one interface (the way leveldb's Env is the seam to the OS).
//
// Code that needs the time, waits, draws jitter or reads a variable takes an `Env*` (or `Env&`) instead of
// calling std::chrono, std::this_thread or std::getenv. Programs pass Env::Default(); tests and the
// simulator pass a VirtualEnv, whose clock only moves when someone sleeps on it or advances it, so
// timing-dependent behaviour is tested without waiting and without luck.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

namespace rcc {

class Env {
 public:
  virtual ~Env() = default;

  // The real Env: the system and steady clocks, std::this_thread::sleep_for, a per-thread random engine
  // seeded from std::random_device, and std::getenv. A process-wide singleton that is never deleted;
  // thread-safe (getenv only while nobody modifies the process environment).
  static Env* Default();

  // Wall-clock time: milliseconds since the Unix epoch. May jump (NTP); use for timestamps only.
  virtual std::int64_t wall_ms() = 0;

  // Monotonic time in milliseconds from an arbitrary origin; never goes backward. Use for durations,
  // deadlines and budgets.
  virtual std::int64_t monotonic_ms() = 0;

  // Blocks the calling thread for `ms` milliseconds (a VirtualEnv advances its clocks instead). ms <= 0
  // returns at once.
  virtual void sleep_ms(std::int64_t ms) = 0;

  // A uniformly distributed double in [0, 1).
  virtual double uniform() = 0;

  // The value of environment variable `name`; nullopt when it is unset or empty (the AWS SDKs and the
  // function treat an empty variable as unset).
  virtual std::optional<std::string> getenv(std::string_view name) = 0;

  // wall_ms() as a system_clock time point (SigV4 signs with it).
  std::chrono::system_clock::time_point wall_time() {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(wall_ms()));
  }
};

// An Env whose time is virtual: both clocks start where the constructor puts them and move only by
// sleep_ms() and advance(); randomness is a seeded Mersenne Twister (the same seed gives the same draws);
// variables come from a map. Thread-safe: every member takes one internal lock. Tests may derive from it
// to script one member (e.g. a fixed uniform()).
class VirtualEnv : public Env {
 public:
  // Wall clock at `start_wall_ms`, monotonic clock at 0, random engine seeded with `seed`, no variables.
  explicit VirtualEnv(std::int64_t start_wall_ms = 0, std::uint64_t seed = 1);

  std::int64_t wall_ms() override;
  std::int64_t monotonic_ms() override;
  // Advances both clocks by `ms` (when > 0) and returns at once; counted in sleeps() and slept_ms().
  void sleep_ms(std::int64_t ms) override;
  double uniform() override;
  std::optional<std::string> getenv(std::string_view name) override;

  // Advances both clocks by `ms` (when > 0) without counting it as a sleep: time passing elsewhere.
  void advance(std::int64_t ms);
  // Sets (or, with an empty value, unsets) a variable.
  void set_env(std::string name, std::string value);

  // Number of sleep_ms() calls with ms > 0, and the milliseconds they slept in total.
  std::int64_t sleeps() const;
  std::int64_t slept_ms() const;

 private:
  mutable std::mutex mu_;
  std::int64_t start_wall_ms_;
  std::int64_t elapsed_ms_ = 0;
  std::int64_t sleeps_ = 0;
  std::int64_t slept_ms_ = 0;
  std::mt19937_64 engine_;
  std::map<std::string, std::string, std::less<>> variables_;
};

// A VirtualEnv driven by its owner's own virtual time: both clocks read `clock()` and a sleep calls
// `sleep(ms)` (which may advance that time); randomness and variables are VirtualEnv's. For the simulator,
// whose components keep their own clocks, and tests that set the time directly. Thread-safety is that of
// the two functions.
class ClockEnv : public VirtualEnv {
 public:
  ClockEnv(std::function<std::int64_t()> clock, std::function<void(std::int64_t)> sleep = nullptr)
      : clock_(std::move(clock)), sleep_(std::move(sleep)) {}

  std::int64_t wall_ms() override { return clock_(); }
  std::int64_t monotonic_ms() override { return clock_(); }
  // Calls sleep(ms) when ms > 0 and a sleep function was given; otherwise returns at once.
  void sleep_ms(std::int64_t ms) override {
    if (ms > 0 && sleep_) sleep_(ms);
  }

 private:
  std::function<std::int64_t()> clock_;
  std::function<void(std::int64_t)> sleep_;
};

}  // namespace rcc
