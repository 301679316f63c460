#include "sim/format.h"

#include <string>

#include <gtest/gtest.h>

namespace rcc::sim {
namespace {

TEST(SimFormat, FormatsLikePrintf) {
  EXPECT_EQ(format("%.1f ms", 7.94), "7.9 ms");
  EXPECT_EQ(format("%s=%lld", "n", 12345LL), "n=12345");
  EXPECT_EQ(format("plain"), "plain");
  EXPECT_EQ(format("%s", ""), "");
}

// Regression: the report's formatter wrote into a 512-byte buffer and cut longer text silently.
TEST(SimFormat, LongTextIsNotTruncated) {
  const std::string long_label(2000, 'x');
  const std::string text = format("<%s>", long_label.c_str());
  EXPECT_EQ(text.size(), 2002u);
  EXPECT_EQ(text, "<" + long_label + ">");
}

}  // namespace
}  // namespace rcc::sim
