#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace rcc {
namespace {

TEST(TokenBucket, StartsFullAndThrottlesWhenEmpty) {
  TokenBucket bucket(3, 1.0, 0);
  EXPECT_TRUE(bucket.take(0));
  EXPECT_TRUE(bucket.take(0));
  EXPECT_TRUE(bucket.take(0));
  EXPECT_FALSE(bucket.take(0));
  EXPECT_FALSE(bucket.take(999));  // 0.999 tokens
  EXPECT_TRUE(bucket.take(1000));  // one token per second
  EXPECT_FALSE(bucket.take(1000));
}

TEST(TokenBucket, RefillStopsAtTheBurst) {
  TokenBucket bucket(2, 20.0, 0);
  EXPECT_TRUE(bucket.take(0));
  EXPECT_DOUBLE_EQ(bucket.tokens(1'000'000), 2.0);
}

TEST(TokenBucket, ATimeBehindTheBucketAddsNothing) {
  TokenBucket bucket(1, 1000.0, 5000);
  EXPECT_TRUE(bucket.take(5000));
  EXPECT_FALSE(bucket.take(4000));  // an earlier caller in virtual time: no refill, no negative refill
  EXPECT_DOUBLE_EQ(bucket.tokens(4000), 0.0);
  EXPECT_TRUE(bucket.take(5001));
}

TEST(TokenBucket, ZeroBurstNeverThrottles) {
  TokenBucket bucket(0, 0.0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(bucket.take(0));
}

}  // namespace
}  // namespace rcc
