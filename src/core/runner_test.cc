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

TEST(Identify, RunnerOfAnyListedEnvironment) {
  const std::vector<std::string> envs = {"multi-runner-linux-x64", "multi-runner-linux-arm64"};
  const auto arm = identify(runner_tags("multi-runner-linux-arm64", "Repo", "acme/app"), envs);
  EXPECT_TRUE(arm.runner);
  EXPECT_EQ(arm.tagged.str(), "multi-runner-linux-arm64#Repo#acme/app");
  EXPECT_TRUE(identify(runner_tags("multi-runner-linux-x64", "Org", "acme"), envs).runner);
  EXPECT_FALSE(identify(runner_tags("multi-runner-windows-x64", "Org", "acme"), envs).runner);
  EXPECT_FALSE(identify(runner_tags("multi-runner-linux-x64", "Org", "acme"), std::vector<std::string>{}).runner);
}

TEST(EnvironmentList, OneOrSeveralSeparatedByCommas) {
  EXPECT_EQ(*parse_environment_list("prod"), (std::vector<std::string>{"prod"}));
  EXPECT_EQ(*parse_environment_list("prod env"), (std::vector<std::string>{"prod env"}));
  const auto list = parse_environment_list("multi-runner-linux-x64-ubuntu-2204,multi-runner-linux-arm64");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"multi-runner-linux-x64-ubuntu-2204", "multi-runner-linux-arm64"}));
  EXPECT_EQ(join_environment_list(*list), "multi-runner-linux-x64-ubuntu-2204,multi-runner-linux-arm64");
}

TEST(EnvironmentList, RejectsWhatWouldNeverMatchATagAndSaysWhy) {
  struct Case {
    std::string text;
    std::string says;
  };
  for (const Case& c : {Case{"", "empty"}, Case{"prod,", "item 2 is empty"}, Case{",prod", "item 1 is empty"},
                        Case{"prod,,dev", "item 2 is empty"}, Case{"prod, dev", "item 2 \" dev\" has leading"},
                        Case{"prod ,dev", "item 1 \"prod \" has leading or trailing whitespace"},
                        Case{"prod,dev,prod", "item 3 \"prod\" repeats"}}) {
    const auto parsed = parse_environment_list(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.says), std::string::npos) << parsed.status().message();
  }
  std::string many;
  for (std::size_t i = 0; i <= kMaxEnvironments; ++i) many += (i ? ",e" : "e") + std::to_string(i);
  EXPECT_FALSE(parse_environment_list(many).ok());
  many.erase(many.rfind(','));
  EXPECT_EQ(parse_environment_list(many)->size(), kMaxEnvironments);
}

TEST(Identify, AnotherApplicationTagMarksTheRunnersWhenAsked) {
  Tags tags = runner_tags("prod", "Org", "acme");
  tags["ghr:Application"] = "my-runners";
  const auto id = identify(tags, "prod", "my-runners");
  EXPECT_TRUE(id.runner);
  EXPECT_EQ(id.tagged, (RunnerKey{"prod", "Org", "acme"}));
  EXPECT_FALSE(identify(runner_tags("prod", "Org", "acme"), "prod", "my-runners").runner);
  EXPECT_FALSE(identify(tags, "staging", "my-runners").runner);
}

}  // namespace
}  // namespace rcc
