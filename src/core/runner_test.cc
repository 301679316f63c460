#include "rcc/runner.h"

#include <gtest/gtest.h>

namespace rcc {
namespace {

Tags runner_tags(std::string env, std::string type, std::string owner) {
  return Tags{{"ghr:Application", "github-action-runner"},
              {"ghr:environment", std::move(env)},
              {"ghr:Type", std::move(type)},
              {"ghr:Owner", std::move(owner)},
              {"Name", "runner"}};
}

TEST(RunnerKey, PlainPartsAppearVerbatim) {
  EXPECT_EQ((RunnerKey{"prod", "Org", "acme"}).str(), "prod#Org#acme");
  EXPECT_EQ((RunnerKey{"prod", "Repo", "acme/app"}).str(), "prod#Repo#acme/app");
}

TEST(RunnerKey, SeparatorsInPartsAreEscapedSoKeysStayDistinct) {
  const RunnerKey a{"a#b", "Org", "c"};
  const RunnerKey b{"a", "Org", "b#c"};
  EXPECT_NE(a.str(), b.str());
  EXPECT_EQ(a.str(), "a%23b#Org#c");
  EXPECT_EQ((RunnerKey{"100%", "Org", "x"}).str(), "100%25#Org#x");
}

TEST(RunnerKey, ParseInvertsStr) {
  for (const RunnerKey& key : {RunnerKey{"prod", "Org", "acme"}, RunnerKey{"a#b", "Repo", "o/r%#"},
                               RunnerKey{"%23", "Org", "%"}}) {
    auto parsed = RunnerKey::parse(key.str());
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    EXPECT_EQ(*parsed, key);
  }
}

TEST(RunnerKey, ParseRejectsMalformedKeys) {
  EXPECT_FALSE(RunnerKey::parse("prod#Org").ok());
  EXPECT_FALSE(RunnerKey::parse("prod#Org#acme#x").ok());
  EXPECT_FALSE(RunnerKey::parse("prod#Org#a%2").ok());
  EXPECT_FALSE(RunnerKey::parse("prod#Org#a%41").ok());
}

TEST(RunnerKey, ValidateNamesTheField) {
  EXPECT_TRUE(validate_runner_key({"prod", "Org", "acme"}).ok());
  EXPECT_TRUE(validate_runner_key({"prod", "Repo", "acme/app"}).ok());
  auto s = validate_runner_key({"prod", "org", "acme"});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("type"), std::string::npos);
  EXPECT_NE(validate_runner_key({"", "Org", "acme"}).message().find("environment"), std::string::npos);
  EXPECT_NE(validate_runner_key({"prod", "Org", ""}).message().find("owner"), std::string::npos);
}

TEST(Identify, RunnerOfTheEnvironment) {
  const auto id = identify(runner_tags("prod", "Org", "acme"), "prod");
  EXPECT_TRUE(id.runner);
  EXPECT_EQ(id.tagged, (RunnerKey{"prod", "Org", "acme"}));
}

TEST(Identify, RunnerOfAnotherEnvironmentIsNotCounted) {
  const auto id = identify(runner_tags("staging", "Org", "acme"), "prod");
  EXPECT_FALSE(id.runner);
  EXPECT_EQ(id.tagged.environment, "staging");
}

TEST(Identify, OtherApplicationsAndMissingTagsAreNotRunners) {
  Tags tags = runner_tags("prod", "Org", "acme");
  tags["ghr:Application"] = "something-else";
  EXPECT_FALSE(identify(tags, "prod").runner);
  EXPECT_FALSE(identify(Tags{}, "prod").runner);
  EXPECT_FALSE(identify(runner_tags("prod", "Team", "acme"), "prod").runner);
  EXPECT_FALSE(identify(runner_tags("prod", "Org", ""), "prod").runner);
  EXPECT_FALSE(identify(runner_tags("", "Org", "acme"), "").runner);
}

}  // namespace
}  // namespace rcc
