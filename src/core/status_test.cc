#include "rcc/status.h"

#include <string>

#include <gtest/gtest.h>

namespace rcc {
namespace {

TEST(Result, HoldsAValueOrAnError) {
  Result<int> value = 7;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);
  EXPECT_TRUE(value.status().ok());

  Result<int> error = Status::Throttled("slow down");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), Code::kThrottled);
}

// Regression: a Result built from an ok Status was caught only by an assert, gone under NDEBUG, leaving a
// Result that said ok() == false with an ok status() (callers then returned "success" without a value).
TEST(Result, BuiltFromAnOkStatusIsAnInternalErrorInEveryBuild) {
  Result<std::string> r = Status();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("ok Status"), std::string::npos);
}

}  // namespace
}  // namespace rcc
