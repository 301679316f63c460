// `rcc register` and `rcc slots take|release` against dynalite, run as the real binary, including several
// deciding processes on one key at once (their grants conflict and are decided again).
#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/dynalite.h"
#include "testing/fakes.h"
#include "rcc/dynamo_store.h"
#include "rcc/env.h"
#include "testing/rcc_command.h"

namespace rcc {
namespace {

using nlohmann::json;

class CliSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dynalite = testing::Dynalite::shared();
    ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
    endpoint_ = (*dynalite)->endpoint();
    table_ = testing::unique_table_name("cli-slots");
    AwsClient client = (*dynalite)->client();
    ASSERT_TRUE(testing::create_runner_table(client, table_).ok());
    store_ = std::make_unique<DynamoStore>(std::move(client), DynamoStoreOptions{table_});
    // A fresh cache, so decisions count from the table.
    const std::int64_t now_ms = Env::Default()->wall_ms();
    ASSERT_TRUE(store_->stamp_heartbeat(now_ms, testing::kProdOnly).ok());
    ReconcileReport report;
    report.finished_ms = now_ms;
    ASSERT_TRUE(store_->record_reconcile(report).ok());
  }

  testing::CommandRun rcc(const std::string& args, bool with_stderr = false) {
    return testing::run_rcc(RCC_BINARY, args + " --table " + table_, endpoint_, "", "", with_stderr);
  }

  std::string key_flags() const { return "--environment prod --type Org --owner acme"; }

  std::string endpoint_;
  std::string table_;
  std::unique_ptr<DynamoStore> store_;
};

TEST_F(CliSlotsTest, RegisterRecordsEachInstanceOnceAndReportsAlreadyKnown) {
  const std::string args = "register " + key_flags() +
                           " --launch-time-s 1700000000 --instance i-0000000000000a001 --instance i-0000000000000a002";
  auto first = rcc(args);
  EXPECT_EQ(first.status, 0) << first.out;
  EXPECT_EQ(first.out, "i-0000000000000a001 registered\ni-0000000000000a002 registered\n");
  EXPECT_EQ(*store_->count_active("prod#Org#acme"), 2);
  auto again = rcc(args + " --json");
  EXPECT_EQ(again.status, 0) << again.out;
  const json out = json::parse(again.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << again.out;
  EXPECT_EQ(out["registered"], 0);
  EXPECT_EQ(out["already_known"], 2);
  EXPECT_EQ(out["failed"], 0);
  EXPECT_EQ(out["results"][0]["outcome"], "already_known");
}

TEST_F(CliSlotsTest, RegisterRejectsBadInputAndReportsFailures) {
  auto no_time = rcc("register " + key_flags() + " --instance i-0000000000000a001", true);
  EXPECT_EQ(no_time.status, 2) << no_time.out;
  EXPECT_NE(no_time.out.find("--launch-time-s"), std::string::npos) << no_time.out;
  auto bad_id = rcc("register " + key_flags() + " --launch-time-s 5 --instance '#meta'", true);
  EXPECT_EQ(bad_id.status, 2) << bad_id.out;
  EXPECT_NE(bad_id.out.find("starts with '#'"), std::string::npos) << bad_id.out;
  // A table that does not exist: the instance is reported as failed, exit 1.
  auto missing = testing::run_rcc(RCC_BINARY,
                                  "register " + key_flags() +
                                      " --launch-time-s 5 --instance i-0000000000000a001 --table no-such-table --json",
                                  endpoint_);
  EXPECT_EQ(missing.status, 1) << missing.out;
  const json out = json::parse(missing.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << missing.out;
  EXPECT_EQ(out["failed"], 1);
  EXPECT_EQ(out["results"][0]["outcome"], "failed");
}

TEST_F(CliSlotsTest, TakeReservesItsGrantUntilReleased) {
  auto take = rcc("slots take " + key_flags() + " --maximum 5 --wanted 3 --json");
  ASSERT_EQ(take.status, 0) << take.out;
  const json grant = json::parse(take.out, nullptr, false);
  ASSERT_TRUE(grant.is_object()) << take.out;
  EXPECT_EQ(grant["allowed"], 3);
  EXPECT_EQ(grant["count"], 0);
  EXPECT_EQ(grant["source"], "cache");
  EXPECT_EQ(grant["version"], 1);
  EXPECT_EQ(grant["conflicts"], 0);
  EXPECT_GT(grant["expires_ms"].get<std::int64_t>(), 0);
  const std::string holder = grant["holder"];
  EXPECT_EQ(holder.size(), 16u);

  // Another decision meanwhile does not wait: it counts the first grant and takes what is left.
  auto second = rcc("slots take " + key_flags() + " --maximum 5 --wanted 5 --holder second --wait-ms 0");
  ASSERT_EQ(second.status, 0) << second.out;
  EXPECT_EQ(second.out, "2 second\n");
  auto third = rcc("slots take " + key_flags() + " --maximum 5 --wanted 5 --holder third", true);
  ASSERT_EQ(third.status, 0) << third.out;
  EXPECT_NE(third.out.find("0 third\n"), std::string::npos) << third.out;
  EXPECT_NE(third.out.find("nothing granted"), std::string::npos) << third.out;

  auto wrong = rcc("slots release " + key_flags() + " --holder someone-else --launched 0");
  EXPECT_EQ(wrong.status, 0) << wrong.out;
  EXPECT_EQ(wrong.out, "lost\n");
  EXPECT_EQ(rcc("slots release " + key_flags() + " --holder second --launched 0").out, "released\n");
  auto registered = rcc("register " + key_flags() +
                        " --launch-time-s 1700000000 --instance i-0000000000000b001 --settle-ms 600000 --release " + holder);
  EXPECT_EQ(registered.status, 0) << registered.out;
  EXPECT_EQ(registered.out, "i-0000000000000b001 registered\nlease released\n");

  auto next = rcc("slots take " + key_flags() + " --maximum 5 --wanted 5 --holder fourth");
  ASSERT_EQ(next.status, 0) << next.out;
  // One registered runner, counted again while its entry is valid (within --settle-ms).
  EXPECT_EQ(next.out, "3 fourth\n");
  EXPECT_EQ(rcc("slots release " + key_flags() + " --holder fourth --launched 0").out, "released\n");
  auto lease = store_->get_lease("prod#Org#acme");
  ASSERT_TRUE(lease.ok()) << lease.status().to_string();
  EXPECT_EQ(lease->version, 3);
  ASSERT_EQ(lease->grants.size(), 1u);
  EXPECT_EQ(lease->grants.begin()->first, holder);
  EXPECT_EQ(lease->grants.begin()->second.count, 1);
}

// Several `rcc` processes decide for one key at once, each registering what it was allowed and releasing.
TEST_F(CliSlotsTest, ConcurrentProcessesNeverExceedTheMaximum) {
  constexpr int kProcesses = 8;
  constexpr int kMaximum = 6;
  std::atomic<int> granted{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> deciders;
  for (int p = 0; p < kProcesses; ++p) {
    deciders.emplace_back([&, p] {
      auto take = rcc("slots take " + key_flags() + " --maximum " + std::to_string(kMaximum) +
                      " --wanted 2 --wait-ms 60000");
      std::istringstream in(take.out);
      int allowed = -1;
      std::string holder;
      in >> allowed >> holder;
      if (take.status != 0 || allowed < 0 || holder.empty()) {
        ++failures;
        return;
      }
      granted += allowed;
      if (allowed == 0) return;  // nothing granted, nothing to release
      std::string args = "register " + key_flags() + " --launch-time-s 1700000000 --settle-ms 0 --release " + holder;
      for (int i = 0; i < allowed; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, " --instance i-%017x", 0xc000 + p * 16 + i);
        args += id;
      }
      auto done = rcc(args);
      if (done.status != 0 || done.out.find("lost") != std::string::npos) ++failures;
    });
  }
  for (auto& d : deciders) d.join();
  EXPECT_EQ(failures.load(), 0);
  // A decision between another's registration and its release counts those launches twice (in the
  // count and in the grant), so together they may leave slots free, never take too many.
  EXPECT_LE(granted.load(), kMaximum);
  EXPECT_GE(granted.load(), 2) << "the first decision got what it wanted";
  EXPECT_EQ(*store_->count_active("prod#Org#acme"), granted.load());
}

}  // namespace
}  // namespace rcc
