#include "rcc/env.h"

#include <cstdlib>
#include <thread>
#include <utility>

namespace rcc {

namespace {

class RealEnv final : public Env {
 public:
  std::int64_t wall_ms() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::int64_t monotonic_ms() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void sleep_ms(std::int64_t ms) override {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  double uniform() override {
    // One engine per thread: no lock, and threads do not share a sequence.
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  }

  std::optional<std::string> getenv(std::string_view name) override {
    const char* value = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  }
};

}  // namespace

Env* Env::Default() {
  static RealEnv* env = new RealEnv();  // never deleted: usable from static destructors and detached threads
  return env;
}

VirtualEnv::VirtualEnv(std::int64_t start_wall_ms, std::uint64_t seed) : start_wall_ms_(start_wall_ms), engine_(seed) {}

std::int64_t VirtualEnv::wall_ms() {
  std::lock_guard lock(mu_);
  return start_wall_ms_ + elapsed_ms_;
}

std::int64_t VirtualEnv::monotonic_ms() {
  std::lock_guard lock(mu_);
  return elapsed_ms_;
}

void VirtualEnv::sleep_ms(std::int64_t ms) {
  if (ms <= 0) return;
  std::lock_guard lock(mu_);
  elapsed_ms_ += ms;
  ++sleeps_;
  slept_ms_ += ms;
}

double VirtualEnv::uniform() {
  std::lock_guard lock(mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
}

std::optional<std::string> VirtualEnv::getenv(std::string_view name) {
  std::lock_guard lock(mu_);
  const auto it = variables_.find(name);
  if (it == variables_.end()) return std::nullopt;
  return it->second;
}

void VirtualEnv::advance(std::int64_t ms) {
  if (ms <= 0) return;
  std::lock_guard lock(mu_);
  elapsed_ms_ += ms;
}

void VirtualEnv::set_env(std::string name, std::string value) {
  std::lock_guard lock(mu_);
  if (value.empty()) {
    variables_.erase(name);
  } else {
    variables_.insert_or_assign(std::move(name), std::move(value));
  }
}

std::int64_t VirtualEnv::sleeps() const {
  std::lock_guard lock(mu_);
  return sleeps_;
}

std::int64_t VirtualEnv::slept_ms() const {
  std::lock_guard lock(mu_);
  return slept_ms_;
}

}  // namespace rcc
