#include "core/tag_source.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "testing/fakes.h"

namespace rcc {
namespace {

TEST(InventoryTagSource, ReadsInstancesAndSkipsOtherMembers) {
  auto source = InventoryTagSource::from_json(R"({
    "generated": {"by": ["x", {"y": 1}]},
    "instances": [
      {"instance_id": "i-0000000a", "state": "running", "launch_time": "2026-01-01T00:00:00Z",
       "tags": {"ghr:Application": "github-action-runner", "ghr:Owner": "acme"}},
      {"extra": [1, 2, {"deep": [null, true]}], "instance_id": "i-1234567890abcdef0"}
    ],
    "version": 2
  })");
  ASSERT_TRUE(source.ok()) << source.status().to_string();
  EXPECT_EQ(source->size(), 2u);
  auto tags = source->lookup("i-0000000a", true);
  ASSERT_TRUE(tags.ok() && tags->has_value());
  EXPECT_EQ((**tags).at("ghr:Owner"), "acme");
  auto untagged = source->lookup("i-1234567890abcdef0", true);
  ASSERT_TRUE(untagged.ok() && untagged->has_value());
  EXPECT_TRUE((**untagged).empty());
  auto missing = source->lookup("i-0000000b", false);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(source->lookups(), 3);
}

TEST(InventoryTagSource, RejectsMalformedInventoriesNamingTheEntry) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"[]", "instances"},
      {"{}", "instances"},
      {R"({"instances": {}})", "instances"},
      {R"({"instances": [1]})", "instances[0]"},
      {R"({"instances": [{"tags": {}}]})", "instances[0].instance_id"},
      {R"({"instances": [{"instance_id": "i-0000000a"}, {"instance_id": "bogus"}]})", "instances[1].instance_id"},
      {R"({"instances": [{"instance_id": 7}]})", "instances[0].instance_id"},
      {R"({"instances": [{"instance_id": "i-0000000a", "tags": {"k": 1}}]})", "instances[0].tags.k"},
      {R"({"instances": [{"instance_id": "i-0000000a", "tags": {"k": ["v"]}}]})", "instances[0].tags.k"},
      {R"({"instances": [{"instance_id": "i-0000000a", "tags": []}]})", "instances[0].tags"},
      {R"({"instances": [{"instance_id": "i-0000000a"}, {"instance_id": "i-0000000a"}]})", "duplicate"},
      {R"({"instances": [{"instance_id": "i-0000000a"})", "not valid JSON"},
  };
  for (const auto& [json, expected] : cases) {
    auto source = InventoryTagSource::from_json(json);
    ASSERT_FALSE(source.ok()) << json;
    EXPECT_EQ(source.status().code(), Code::kInvalidArgument) << json;
    EXPECT_NE(source.status().message().find(expected), std::string::npos)
        << json << " -> " << source.status().message();
  }
}

TEST(InventoryTagSource, FromFileNamesTheFile) {
  auto missing = InventoryTagSource::from_file("/nonexistent/inventory.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kIoError);
  const auto path = std::filesystem::temp_directory_path() / "rcc_tag_source_test_inventory.json";
  std::ofstream(path) << R"({"instances": [{"instance_id": "nope"}]})";
  auto bad = InventoryTagSource::from_file(path.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path.string()), std::string::npos);
  std::filesystem::remove(path);
}

class Ec2TagSourceTest : public ::testing::Test {
 protected:
  Ec2TagSourceTest() { ec2_.add("i-0000000a", InstanceState::kRunning, Tags{{"k", "v"}}); }
  testing::FakeEc2 ec2_;
  std::int64_t now_ = 0;
  std::vector<std::int64_t> slept_;
  ClockEnv env_{[this] { return now_; },
                [this](std::int64_t ms) {
                  slept_.push_back(ms);
                  now_ += ms;
                }};
  Deadline deadline_;
  Ec2TagSource source_{ec2_, Ec2TagSource::Options{2, 100}, &env_, &deadline_};
};

TEST_F(Ec2TagSourceTest, NotFoundForAFinishedInstanceIsAnAnswer) {
  auto tags = source_.lookup("i-0000000b", /*expect_exists=*/false);
  ASSERT_TRUE(tags.ok());
  EXPECT_FALSE(tags->has_value());
  EXPECT_TRUE(slept_.empty());
}

TEST_F(Ec2TagSourceTest, NotFoundForANewInstanceIsRetriedWithBackoff) {
  ec2_.fail_next = 2;  // EC2 does not see the new instance yet
  ec2_.failure = Status::NotFound("InvalidInstanceID.NotFound");
  auto tags = source_.lookup("i-0000000a", /*expect_exists=*/true);
  ASSERT_TRUE(tags.ok()) << tags.status().to_string();
  ASSERT_TRUE(tags->has_value());
  EXPECT_EQ(slept_, (std::vector<std::int64_t>{100, 200}));
}

TEST_F(Ec2TagSourceTest, PersistentNotFoundForANewInstanceFailsRetryably) {
  auto tags = source_.lookup("i-0000000b", /*expect_exists=*/true);
  ASSERT_FALSE(tags.ok());
  EXPECT_TRUE(tags.status().retryable());
  EXPECT_NE(tags.status().message().find("not yet visible"), std::string::npos);
}

TEST_F(Ec2TagSourceTest, NoBackoffPastTheDeadline) {
  deadline_.set(150);  // room for the first backoff (100 ms), not the second (200 ms)
  ec2_.fail_next = 5;
  ec2_.failure = Status::NotFound("InvalidInstanceID.NotFound");
  auto tags = source_.lookup("i-0000000a", /*expect_exists=*/true);
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().code(), Code::kUnavailable);  // the invocation fails in time and is retried
  EXPECT_EQ(slept_, (std::vector<std::int64_t>{100}));
  EXPECT_EQ(ec2_.requests_sent(), 2);
}

TEST_F(Ec2TagSourceTest, OtherFailuresAreReturnedAtOnce) {
  ec2_.fail_next = 1;
  auto tags = source_.lookup("i-0000000a", true);
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().code(), Code::kThrottled);
  EXPECT_EQ(ec2_.requests_sent(), 1);
}

}  // namespace
}  // namespace rcc
