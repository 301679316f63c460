#include "sim/fiber.h"

#include <utility>

namespace rcc::sim {

Fiber::Fiber() : thread_([this] { loop(); }) {}

Fiber::~Fiber() {
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    fiber_turn_ = true;  // a running body is let go on without pausing; an idle loop sees stopping_
    cv_.notify_all();
    cv_.wait(lock, [this] { return !running_ && !body_; });
  }
  thread_.join();
}

void Fiber::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return fiber_turn_ || stopping_; });
    if (!body_) {
      if (stopping_) return;
      continue;
    }
    running_ = true;
    std::function<void()> body = std::move(body_);
    lock.unlock();
    body();
    lock.lock();
    body_ = nullptr;
    running_ = false;
    fiber_turn_ = false;
    cv_.notify_all();
    if (stopping_) return;
  }
}

void Fiber::start(std::function<void()> body) {
  std::lock_guard lock(mu_);
  body_ = std::move(body);
}

bool Fiber::resume() {
  std::unique_lock lock(mu_);
  fiber_turn_ = true;
  cv_.notify_all();
  // Only the fiber's thread hands the turn back: by suspend() (running_ stays true) or by returning.
  cv_.wait(lock, [this] { return !fiber_turn_; });
  return !running_;
}

bool Fiber::suspend() {
  std::unique_lock lock(mu_);
  if (stopping_) return false;
  fiber_turn_ = false;
  cv_.notify_all();
  cv_.wait(lock, [this] { return fiber_turn_; });
  return !stopping_;
}

}  // namespace rcc::sim
