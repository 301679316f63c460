#include "core/ec2_filter.h"

#include <gtest/gtest.h>

namespace rcc {
namespace {

Ec2Instance runner(std::string id, InstanceState state) {
  return Ec2Instance{std::move(id), state,
                     Tags{{"ghr:Application", "github-action-runner"},
                          {"ghr:environment", "prod"},
                          {"ghr:Owner", "acme/*repo?"},
                          {"Name", "runner 1"}},
                     0};
}

TEST(Ec2Wildcard, LiteralTextMatchesOnlyItself) {
  EXPECT_TRUE(ec2_wildcard_match("running", "running"));
  EXPECT_FALSE(ec2_wildcard_match("running", "runnin"));
  EXPECT_FALSE(ec2_wildcard_match("running", "running2"));
  EXPECT_TRUE(ec2_wildcard_match("", ""));
  EXPECT_FALSE(ec2_wildcard_match("", "x"));
}

TEST(Ec2Wildcard, StarMatchesAnyRunIncludingNone) {
  EXPECT_TRUE(ec2_wildcard_match("*", ""));
  EXPECT_TRUE(ec2_wildcard_match("*", "anything"));
  EXPECT_TRUE(ec2_wildcard_match("run*", "run"));
  EXPECT_TRUE(ec2_wildcard_match("run*", "running"));
  EXPECT_TRUE(ec2_wildcard_match("*ing", "stopping"));
  EXPECT_TRUE(ec2_wildcard_match("*a*b*", "xxaxxbxx"));
  EXPECT_TRUE(ec2_wildcard_match("a*b*c", "abbbcbc"));  // needs backtracking past the first 'c'
  EXPECT_FALSE(ec2_wildcard_match("*ing", "stopped"));
  EXPECT_FALSE(ec2_wildcard_match("a*b", "acbc"));
}

TEST(Ec2Wildcard, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(ec2_wildcard_match("i-?", "i-1"));
  EXPECT_FALSE(ec2_wildcard_match("i-?", "i-"));
  EXPECT_FALSE(ec2_wildcard_match("i-?", "i-12"));
  EXPECT_TRUE(ec2_wildcard_match("??", "ab"));
}

TEST(Ec2Wildcard, BackslashMakesTheNextCharacterLiteral) {
  // EC2's own example: \*amazon\?\\ is the literal text *amazon?\ .
  EXPECT_TRUE(ec2_wildcard_match(R"(\*amazon\?\\)", R"(*amazon?\)"));
  EXPECT_FALSE(ec2_wildcard_match(R"(\*amazon\?\\)", R"(Xamazon?\)"));
  EXPECT_FALSE(ec2_wildcard_match(R"(\*amazon\?\\)", R"(*amazonX\)"));
  EXPECT_TRUE(ec2_wildcard_match(R"(a\*)", "a*"));
  EXPECT_FALSE(ec2_wildcard_match(R"(a\*)", "ab"));
  EXPECT_TRUE(ec2_wildcard_match(R"(\a)", "a"));  // an escaped ordinary character is itself
  // A backslash at the end escapes nothing and matches nothing.
  EXPECT_FALSE(ec2_wildcard_match("a\\", "a\\"));
  EXPECT_FALSE(ec2_wildcard_match("a\\", "a"));
}

TEST(Ec2Wildcard, HasWildcardSeesEverySpecialCharacter) {
  EXPECT_FALSE(has_ec2_wildcard("i-0123456789abcdef0"));
  EXPECT_TRUE(has_ec2_wildcard("i-*"));
  EXPECT_TRUE(has_ec2_wildcard("acme?"));
  EXPECT_TRUE(has_ec2_wildcard("acme\\x"));
}

TEST(Ec2Filter, KnownNames) {
  EXPECT_TRUE(is_known_ec2_filter("instance-id"));
  EXPECT_TRUE(is_known_ec2_filter("instance-state-name"));
  EXPECT_TRUE(is_known_ec2_filter("tag-key"));
  EXPECT_TRUE(is_known_ec2_filter("tag:ghr:Owner"));
  EXPECT_FALSE(is_known_ec2_filter("tag:"));
  EXPECT_FALSE(is_known_ec2_filter("instance-type"));
  EXPECT_FALSE(is_known_ec2_filter("Instance-Id"));
  EXPECT_FALSE(is_known_ec2_filter(""));
}

TEST(Ec2Filter, CheckNamesTheFirstBadFilterAsEc2Does) {
  EXPECT_TRUE(check_ec2_filters({}).ok());
  EXPECT_TRUE(check_ec2_filters(active_runner_filters("prod")).ok());
  const Status unknown = check_ec2_filters({{"instance-state-name", {"running"}}, {"instance-type", {"m5.large"}}});
  EXPECT_EQ(unknown.code(), Code::kInvalidArgument);
  EXPECT_EQ(unknown.message(), "InvalidParameterValue: The filter 'instance-type' is invalid");
  const Status empty = check_ec2_filters({{"tag:ghr:Owner", {}}});
  EXPECT_EQ(empty.code(), Code::kInvalidArgument);
  EXPECT_EQ(empty.message(), "InvalidParameterValue: The filter 'tag:ghr:Owner' has no values");
}

TEST(Ec2Filter, EachFilterKind) {
  const Ec2Instance instance = runner("i-0123456789abcdef0", InstanceState::kRunning);
  auto passes = [&](Ec2Filter filter) { return ec2_filters_match({std::move(filter)}, instance); };
  EXPECT_TRUE(passes({"instance-id", {"i-0000000000000000f", "i-0123456789abcdef0"}}));
  EXPECT_TRUE(passes({"instance-id", {"i-0123*"}}));
  EXPECT_FALSE(passes({"instance-id", {"i-0000000000000000f"}}));
  EXPECT_TRUE(passes({"instance-state-name", {"pending", "running"}}));
  EXPECT_TRUE(passes({"instance-state-name", {"run*"}}));
  EXPECT_FALSE(passes({"instance-state-name", {"stopped"}}));
  EXPECT_TRUE(passes({"tag:ghr:environment", {"prod"}}));
  EXPECT_TRUE(passes({"tag:ghr:environment", {"pr?d"}}));
  EXPECT_FALSE(passes({"tag:ghr:environment", {"staging"}}));
  EXPECT_FALSE(passes({"tag:ghr:Type", {"*"}}));  // no such tag: even '*' does not match
  EXPECT_TRUE(passes({"tag:Name", {"runner *"}}));
  // Wildcard characters in a tag value are matched literally through escapes.
  EXPECT_TRUE(passes({"tag:ghr:Owner", {R"(acme/\*repo\?)"}}));
  EXPECT_FALSE(passes({"tag:ghr:Owner", {R"(acme/\*repoX)"}}));
}

TEST(Ec2Filter, TagKeyMatchesTheKeysNotTheValues) {
  const Ec2Instance instance = runner("i-0123456789abcdef0", InstanceState::kPending);
  auto passes = [&](Ec2Filter filter) { return ec2_filters_match({std::move(filter)}, instance); };
  EXPECT_TRUE(passes({"tag-key", {"ghr:Owner"}}));
  EXPECT_TRUE(passes({"tag-key", {"missing", "Name"}}));
  EXPECT_TRUE(passes({"tag-key", {"ghr:*"}}));
  EXPECT_TRUE(passes({"tag-key", {"N?me"}}));
  EXPECT_FALSE(passes({"tag-key", {"prod"}}));  // a value, not a key
  EXPECT_FALSE(passes({"tag-key", {"ghr"}}));
  EXPECT_FALSE(passes({"tag-key", {"x*"}}));
}

TEST(Ec2Filter, FiltersAreAndedAndUnknownNamesMatchNothing) {
  const Ec2Instance instance = runner("i-0123456789abcdef0", InstanceState::kRunning);
  EXPECT_TRUE(ec2_filters_match({}, instance));
  EXPECT_TRUE(ec2_filters_match(active_runner_filters("prod"), instance));
  EXPECT_FALSE(ec2_filters_match(active_runner_filters("staging"), instance));
  EXPECT_FALSE(ec2_filters_match({{"instance-state-name", {"running"}}, {"tag:ghr:Type", {"Org"}}}, instance));
  EXPECT_FALSE(ec2_filters_match({{"instance-type", {"*"}}}, instance));
  EXPECT_FALSE(ec2_filters_match({{"tag:", {"*"}}}, instance));
}

TEST(Ec2Filter, SubjectBorrowsAnotherInstanceType) {
  const Tags tags{{"ghr:environment", "prod"}};
  const Ec2FilterSubject subject{"i-00000000000000001", InstanceState::kStopped, tags};
  EXPECT_TRUE(ec2_filters_match({{"instance-state-name", {"stopped"}}, {"tag:ghr:environment", {"prod"}}}, subject));
  EXPECT_FALSE(ec2_filters_match({{"instance-state-name", {"pending", "running"}}}, subject));
}

}  // namespace
}  // namespace rcc
