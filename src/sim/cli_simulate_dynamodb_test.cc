// `rcc simulate --store dynamodb` against dynalite, run as the real binary.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/dynalite.h"
#include "testing/rcc_command.h"
#include "rcc/dynamo_store.h"

namespace rcc {
namespace {

// Runs `rcc <args>` with fake credentials pointed at dynalite, stdout captured, stderr shown.
testing::CommandRun rcc(const std::string& endpoint, const std::string& args) {
  return testing::run_rcc(RCC_BINARY, args, endpoint);
}

TEST(CliSimulateDynamoDb, SameFiguresAsTheEmbeddedStoreAndRefusesAUsedTable) {
  auto dynalite = testing::Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  const std::string url = (*dynalite)->endpoint();
  AwsClient admin = (*dynalite)->client();
  const std::string table = testing::unique_table_name("cli-sim");
  const std::string register_table = testing::unique_table_name("cli-sim-register");
  ASSERT_TRUE(testing::create_runner_table(admin, table).ok());
  ASSERT_TRUE(testing::create_runner_table(admin, register_table).ok());

  const std::string small = "simulate --runners-per-day 2400 --hours 2 --max-runners 15 --no-progress --json";
  // The register run needs a table of its own: a usage error without one, and with the same one.
  EXPECT_EQ(rcc(url, small + " --store dynamodb --table " + table).status, 2);
  EXPECT_EQ(rcc(url, small + " --store dynamodb --table " + table + " --register-table " + table).status, 2);
  testing::CommandRun on_dynamo =
      rcc(url, small + " --store dynamodb --table " + table + " --register-table " + register_table);
  ASSERT_EQ(on_dynamo.status, 0) << on_dynamo.out;
  testing::CommandRun on_memory = rcc(url, small);
  ASSERT_EQ(on_memory.status, 0) << on_memory.out;
  EXPECT_EQ(on_dynamo.out, on_memory.out);
  const auto j = nlohmann::json::parse(on_dynamo.out);
  EXPECT_EQ(j["count_error"]["cache"]["final"], 0);
  EXPECT_GT(j["dynamodb"]["cache"]["writes"].get<std::int64_t>(), 100);
  EXPECT_EQ(j["count_error"]["register"]["final"], 0);
  EXPECT_GT(j["dynamodb"]["register"]["writes"].get<std::int64_t>(), 100);

  // The table now holds the run's items: a second run would measure nonsense, so it is refused.
  testing::CommandRun again = rcc(url, small + " --store dynamodb --strategies cache --table " + table);
  EXPECT_EQ(again.status, 2);
  again = rcc(url, small + " --store dynamodb --strategies register --register-table " + register_table);
  EXPECT_EQ(again.status, 2);
  // A missing table is a failure the command reports.
  testing::CommandRun missing =
      rcc(url, small + " --store dynamodb --strategies cache --table no-such-table-" + table);
  EXPECT_EQ(missing.status, 1);
  // --store dynamodb without a table is a usage error.
  testing::CommandRun no_table = rcc(url, small + " --store dynamodb");
  EXPECT_EQ(no_table.status, 2);
  EXPECT_TRUE(delete_table(admin, table).ok());
  EXPECT_TRUE(delete_table(admin, register_table).ok());
}

}  // namespace
}  // namespace rcc
