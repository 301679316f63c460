#include "sim/fiber.h"

#include <string>

#include <gtest/gtest.h>

namespace rcc::sim {
namespace {

TEST(Fiber, RunsInTurnsWithTheResumingThread) {
  Fiber fiber;
  std::string trace;
  fiber.start([&] {
    trace += "a";
    EXPECT_TRUE(fiber.suspend());
    trace += "c";
    EXPECT_TRUE(fiber.suspend());
    trace += "e";
  });
  EXPECT_FALSE(fiber.resume());
  trace += "b";
  EXPECT_FALSE(fiber.resume());
  trace += "d";
  EXPECT_TRUE(fiber.resume());
  EXPECT_EQ(trace, "abcde");
}

TEST(Fiber, RunsOneBodyAfterAnotherOnTheSameThread) {
  Fiber fiber;
  int runs = 0;
  for (int i = 0; i < 100; ++i) {
    fiber.start([&] {
      fiber.suspend();
      ++runs;
    });
    EXPECT_FALSE(fiber.resume());
    EXPECT_EQ(runs, i);
    EXPECT_TRUE(fiber.resume());
    EXPECT_EQ(runs, i + 1);
  }
}

TEST(Fiber, ABodyStillRunningAtDestructionFinishesWithoutPausing) {
  int suspends_refused = 0;
  bool finished = false;
  {
    Fiber fiber;
    fiber.start([&] {
      // The first pause is ended by the destruction, and every later one is refused.
      for (int i = 0; i < 4; ++i) {
        if (!fiber.suspend()) ++suspends_refused;
      }
      finished = true;
    });
    EXPECT_FALSE(fiber.resume());
  }
  EXPECT_TRUE(finished);
  EXPECT_EQ(suspends_refused, 4);
}

TEST(Fiber, AnIdleOrNeverResumedFiberIsDestroyedCleanly) {
  { Fiber idle; }
  bool ran = false;
  {
    Fiber never_resumed;
    never_resumed.start([&] { ran = true; });
  }
  EXPECT_TRUE(ran);  // a started body always runs to its end
}

}  // namespace
}  // namespace rcc::sim
