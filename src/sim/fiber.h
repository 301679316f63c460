// Fiber: functions run on a thread of its own, strictly in turns with the thread that resumes them, so
// that code written as a blocking loop (take_slots waiting for its lease requests) can pause in the middle of a
// discrete-event simulation and be resumed by the event queue later, while the simulation stays one
// logical thread: exactly one of the two threads runs at any time, and every hand-over goes through one
// mutex (a happens-before edge), so the body may use the simulation's objects without locks of its own.
// A fiber runs one body after another (start() again once the last returned): its thread is reused.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace rcc::sim {

class Fiber {
 public:
  // Starts the fiber's thread, idle.
  Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  // When a body is running, suspend() returns false from now on and the body is run to its end (it must
  // then finish without pausing); then the thread is joined.
  ~Fiber();

  // Gives the fiber `body` to run from the next resume(). Requires that no body is running.
  void start(std::function<void()> body);

  // From the resuming thread: runs the body until it calls suspend() or returns. Returns true once the
  // body has returned (the fiber is then idle: start() may give it the next).
  bool resume();

  // From the body: hands the turn back to resume()'s caller and blocks until the next resume(). Returns
  // false when the fiber is being destroyed: the body is then on its own and must not pause.
  bool suspend();

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> body_;  // the body given by start(), until it returns
  bool running_ = false;        // a body has started and not returned
  bool fiber_turn_ = false;     // the fiber's thread runs (else the resuming thread does)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rcc::sim
