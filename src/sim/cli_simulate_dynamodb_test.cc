// `rcc simulate --store dynamodb` against dynalite, run as the real binary.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dynalite.h"
#include "rcc/dynamo_store.h"

namespace rcc {
namespace {

struct RccRun {
  int status = -1;
  std::string out;
};

// Runs `rcc <args>` with fake credentials pointed at dynalite, stdout captured, stderr shown.
RccRun rcc(const std::string& endpoint, const std::string& args) {
  const std::string command =
      "env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u RUNNER_COUNT_CACHE_TABLE_NAME "
      "AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=" +
      endpoint + " " RCC_BINARY " " + args;
  RccRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int raw = ::pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

TEST(CliSimulateDynamoDb, SameFiguresAsTheEmbeddedStoreAndRefusesAUsedTable) {
  auto dynalite = testing::Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  const std::string url = (*dynalite)->endpoint();
  AwsClient admin = (*dynalite)->client();
  const std::string table = testing::unique_table_name("cli-sim");
  ASSERT_TRUE(testing::create_runner_table(admin, table).ok());

  const std::string small = "simulate --runners-per-day 2400 --hours 2 --max-runners 15 --no-progress --json";
  RccRun on_dynamo = rcc(url, small + " --store dynamodb --table " + table);
  ASSERT_EQ(on_dynamo.status, 0) << on_dynamo.out;
  RccRun on_memory = rcc(url, small);
  ASSERT_EQ(on_memory.status, 0) << on_memory.out;
  EXPECT_EQ(on_dynamo.out, on_memory.out);
  const auto j = nlohmann::json::parse(on_dynamo.out);
  EXPECT_EQ(j["count_error"]["final"], 0);
  EXPECT_GT(j["dynamodb"]["writes"].get<std::int64_t>(), 100);

  // The table now holds the run's items: a second run would measure nonsense, so it is refused.
  RccRun again = rcc(url, small + " --store dynamodb --table " + table);
  EXPECT_EQ(again.status, 2);
  // A missing table is a failure the command reports.
  RccRun missing = rcc(url, small + " --store dynamodb --table no-such-table-" + table);
  EXPECT_EQ(missing.status, 1);
  // --store dynamodb without a table is a usage error.
  RccRun no_table = rcc(url, small + " --store dynamodb");
  EXPECT_EQ(no_table.status, 2);
  EXPECT_TRUE(delete_table(admin, table).ok());
}

}  // namespace
}  // namespace rcc
