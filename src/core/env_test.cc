#include "rcc/env.h"

#include <cstdlib>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rcc {
namespace {

TEST(DefaultEnv, IsOneInstance) { EXPECT_EQ(Env::Default(), Env::Default()); }

TEST(DefaultEnv, WallClockIsTheSystemClock) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t wall = Env::Default()->wall_ms();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GE(wall, before);
  EXPECT_LE(wall, after);
}

TEST(DefaultEnv, SleepMovesTheMonotonicClockAtLeastThatFar) {
  Env* env = Env::Default();
  const std::int64_t start = env->monotonic_ms();
  env->sleep_ms(15);
  EXPECT_GE(env->monotonic_ms() - start, 15);
  const std::int64_t again = env->monotonic_ms();
  env->sleep_ms(0);
  env->sleep_ms(-5);
  EXPECT_GE(env->monotonic_ms(), again);
}

TEST(DefaultEnv, UniformIsInTheHalfOpenUnitInterval) {
  for (int i = 0; i < 1000; ++i) {
    const double u = Env::Default()->uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(DefaultEnv, GetenvReadsTheProcessEnvironmentAndTreatsEmptyAsUnset) {
  ASSERT_EQ(::setenv("RCC_ENV_TEST_VARIABLE", "value", 1), 0);
  EXPECT_EQ(Env::Default()->getenv("RCC_ENV_TEST_VARIABLE"), "value");
  ASSERT_EQ(::setenv("RCC_ENV_TEST_VARIABLE", "", 1), 0);
  EXPECT_EQ(Env::Default()->getenv("RCC_ENV_TEST_VARIABLE"), std::nullopt);
  ASSERT_EQ(::unsetenv("RCC_ENV_TEST_VARIABLE"), 0);
  EXPECT_EQ(Env::Default()->getenv("RCC_ENV_TEST_VARIABLE"), std::nullopt);
}

TEST(VirtualEnv, ClocksStartWhereToldAndMoveOnlyBySleepAndAdvance) {
  VirtualEnv env(1'700'000'000'000);
  EXPECT_EQ(env.wall_ms(), 1'700'000'000'000);
  EXPECT_EQ(env.monotonic_ms(), 0);
  EXPECT_EQ(env.wall_ms(), 1'700'000'000'000);  // reading does not move it

  env.sleep_ms(250);
  EXPECT_EQ(env.wall_ms(), 1'700'000'000'250);
  EXPECT_EQ(env.monotonic_ms(), 250);
  env.advance(1000);
  EXPECT_EQ(env.monotonic_ms(), 1250);
  EXPECT_EQ(env.wall_time(), std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'001'250)));

  env.sleep_ms(0);
  env.sleep_ms(-3);
  env.advance(-7);
  EXPECT_EQ(env.monotonic_ms(), 1250);
  EXPECT_EQ(env.sleeps(), 1);       // advance() and empty sleeps are not sleeps
  EXPECT_EQ(env.slept_ms(), 250);
}

TEST(VirtualEnv, TheSameSeedGivesTheSameDraws) {
  VirtualEnv a(0, 42);
  VirtualEnv b(0, 42);
  VirtualEnv c(0, 43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const double x = a.uniform();
    EXPECT_EQ(x, b.uniform());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    if (x != c.uniform()) differs = true;
  }
  EXPECT_TRUE(differs);
}

TEST(VirtualEnv, VariablesComeFromItsMap) {
  VirtualEnv env;
  EXPECT_EQ(env.getenv("HOME"), std::nullopt);  // never the process environment
  env.set_env("AWS_REGION", "eu-west-1");
  EXPECT_EQ(env.getenv("AWS_REGION"), "eu-west-1");
  env.set_env("AWS_REGION", "");
  EXPECT_EQ(env.getenv("AWS_REGION"), std::nullopt);
}

TEST(ClockEnv, ClocksAreTheOwnersAndSleepsAreHandedToIt) {
  std::int64_t now = 5000;
  ClockEnv env([&now] { return now; }, [&now](std::int64_t ms) { now += 2 * ms; });
  EXPECT_EQ(env.wall_ms(), 5000);
  now = 7000;
  EXPECT_EQ(env.wall_ms(), 7000);
  EXPECT_EQ(env.monotonic_ms(), 7000);
  env.sleep_ms(10);
  EXPECT_EQ(now, 7020);
  env.sleep_ms(0);
  EXPECT_EQ(now, 7020);

  ClockEnv no_sleep([&now] { return now; });
  no_sleep.sleep_ms(100);  // nothing to advance: returns at once
  EXPECT_EQ(now, 7020);
}

TEST(VirtualEnv, SleepsFromManyThreadsAddUp) {
  VirtualEnv env;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&env] {
      for (int i = 0; i < 1000; ++i) env.sleep_ms(1);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(env.monotonic_ms(), 4000);
  EXPECT_EQ(env.sleeps(), 4000);
}

}  // namespace
}  // namespace rcc
