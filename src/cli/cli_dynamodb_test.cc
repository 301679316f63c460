// `rcc table create` and `rcc replay --store dynamodb` against dynalite, run as the real binary.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/dynalite.h"
#include "testing/rcc_command.h"
#include "rcc/dynamo_store.h"

namespace rcc {
namespace {

using nlohmann::json;

// Runs `rcc <args>` with fake credentials pointed at `endpoint`, stdout captured, stderr shown.
testing::CommandRun rcc(const std::string& endpoint, const std::string& args) {
  return testing::run_rcc(RCC_BINARY, args, endpoint);
}

std::string trace_dir() {
  const char* source = std::getenv("RCC_SOURCE_DIR");
  return std::string(source != nullptr ? source : ".") + "/examples/fleet-trace";
}

// The sample trace's ground truth, examples/fleet-trace/expected-counts.json; null when unreadable.
json expected_counts() {
  std::FILE* f = std::fopen((trace_dir() + "/expected-counts.json").c_str(), "r");
  EXPECT_NE(f, nullptr);
  if (f == nullptr) return nullptr;
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return json::parse(text, nullptr, false);
}

std::string endpoint() {
  auto dynalite = testing::Dynalite::shared();
  EXPECT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  return dynalite.ok() ? (*dynalite)->endpoint() : "http://127.0.0.1:1";
}

TEST(CliTableCreate, CreatesThenReportsExisting) {
  const std::string url = endpoint();
  const std::string table = testing::unique_table_name("cli-table");
  testing::CommandRun first = rcc(url, "table create --table " + table);
  EXPECT_EQ(first.status, 0) << first.out;
  EXPECT_NE(first.out.find("created table " + table), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("is ACTIVE"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("does not support UpdateTimeToLive"), std::string::npos) << first.out;
  testing::CommandRun second = rcc(url, "table create --table " + table);
  EXPECT_EQ(second.status, 0) << second.out;
  EXPECT_NE(second.out.find("already exists"), std::string::npos) << second.out;
  // An existing table still gets the wait for ACTIVE and the TTL step (regression: it returned at once).
  EXPECT_NE(second.out.find("is ACTIVE"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("does not support UpdateTimeToLive"), std::string::npos) << second.out;
}

// Regression: a run interrupted after CreateTable left TTL off forever, since the next run saw "already
// exists" and stopped there. --json shows the TTL step ran on the existing table.
TEST(CliTableCreate, FinishesATableAnInterruptedRunLeftAndSaysSoInJson) {
  const std::string url = endpoint();
  auto dynalite = testing::Dynalite::shared();
  ASSERT_TRUE(dynalite.ok());
  const std::string table = testing::unique_table_name("cli-table");
  AwsClient admin = (*dynalite)->client();
  auto half_made = create_table(admin, table);  // CreateTable only: no wait, no TTL
  ASSERT_TRUE(half_made.ok()) << half_made.status().to_string();

  testing::CommandRun finish = rcc(url, "table create --json --table " + table);
  ASSERT_EQ(finish.status, 0) << finish.out;
  const json existing = json::parse(finish.out, nullptr, false);
  ASSERT_FALSE(existing.is_discarded()) << "stdout must hold only the JSON object: " << finish.out;
  EXPECT_EQ(existing, (json{{"table", table}, {"created", false}, {"ttl", "unsupported"}}));

  const std::string fresh = testing::unique_table_name("cli-table");
  testing::CommandRun created = rcc(url, "table create --json --table " + fresh);
  ASSERT_EQ(created.status, 0) << created.out;
  const json made = json::parse(created.out, nullptr, false);
  ASSERT_FALSE(made.is_discarded()) << created.out;
  EXPECT_EQ(made, (json{{"table", fresh}, {"created", true}, {"ttl", "unsupported"}}));
}

TEST(CliTableCreate, UsageErrors) {
  const std::string url = endpoint();
  EXPECT_EQ(rcc(url, "table create 2>/dev/null").status, 2);
  testing::CommandRun help = rcc(url, "table create --help");
  EXPECT_EQ(help.status, 0);
  for (const char* flag : {"--table", "--region", "--profile", "--endpoint-url", "--wait-seconds", "KEYS_ONLY",
                           "--json", "\"created\""}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag << " missing from:\n" << help.out;
  }
}

// The sample trace carries 5% duplicates and up to 90 s of reordering.
TEST(CliReplay, DynamoDbGivesTheSameCountsAsTheEmbeddedStore) {
  const std::string url = endpoint();
  const std::string table = testing::unique_table_name("cli-replay");
  ASSERT_EQ(rcc(url, "table create --table " + table).status, 0);
  const std::string common = "replay --environment prod --inventory " + trace_dir() + "/inventory.json --events " +
                             trace_dir() + "/events.jsonl --json";
  testing::CommandRun memory = rcc(url, common + " --store memory");
  ASSERT_EQ(memory.status, 0) << memory.out;
  testing::CommandRun dynamo = rcc(url, common + " --store dynamodb --table " + table);
  ASSERT_EQ(dynamo.status, 0) << dynamo.out;

  const json m = json::parse(memory.out, nullptr, false);
  const json d = json::parse(dynamo.out, nullptr, false);
  ASSERT_FALSE(m.is_discarded()) << memory.out;
  ASSERT_FALSE(d.is_discarded()) << dynamo.out;
  EXPECT_EQ(d["counts"], m["counts"]);
  for (const char* tally : {"events", "applied", "duplicate_or_late", "non_runner", "tag_lookups", "failed"}) {
    EXPECT_EQ(d[tally], m[tally]) << tally;
  }
  EXPECT_GT(d["duplicate_or_late"].get<int>(), 0);
  EXPECT_EQ(d["failed"], 0);

  EXPECT_EQ(d["counts"], expected_counts());

  // Replaying the same trace again changes nothing: every event is now a duplicate.
  testing::CommandRun again = rcc(url, common + " --store dynamodb --table " + table);
  ASSERT_EQ(again.status, 0);
  const json a = json::parse(again.out);
  EXPECT_EQ(a["counts"], m["counts"]);
  EXPECT_EQ(a["applied"], 0);
}

// Regression: the counts came from the `active` GSI right after the writes, which DynamoDB updates
// eventually, so a replay could print too few. dynalite's index is never behind, so the test takes the
// index away: on a table without it the counts (from a consistent Scan of the table) are still right.
TEST(CliReplay, DynamoDbCountsComeFromAConsistentReadOfTheTable) {
  const std::string url = endpoint();
  auto dynalite = testing::Dynalite::shared();
  ASSERT_TRUE(dynalite.ok());
  const std::string table = testing::unique_table_name("cli-replay-noindex");
  AwsClient admin = (*dynalite)->client();
  const json request = {{"TableName", table},
                        {"AttributeDefinitions", json::array({{{"AttributeName", "pk"}, {"AttributeType", "S"}}})},
                        {"KeySchema", json::array({{{"AttributeName", "pk"}, {"KeyType", "HASH"}}})},
                        {"BillingMode", "PAY_PER_REQUEST"}};
  auto created = dynamodb_call(admin, "CreateTable", request.dump());
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  ASSERT_TRUE(wait_table_active(admin, table, std::chrono::seconds(10)).ok());

  testing::CommandRun run = rcc(url, "replay --environment prod --inventory " + trace_dir() + "/inventory.json --events " +
                                         trace_dir() + "/events.jsonl --json --store dynamodb --table " + table);
  ASSERT_EQ(run.status, 0) << run.out;
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << run.out;
  EXPECT_EQ(out["failed"], 0);

  EXPECT_EQ(out["counts"], expected_counts());
}

// Many concurrent writers: 8 `rcc replay` processes share one table, each event of the sample trace going to
// two of them (so every event is applied twice, by different processes) and each process's events shuffled
// (so any event may come before any other). The counts are exact once all have finished.
TEST(CliReplay, EightProcessesWithDuplicatedAndReorderedEventsEndExact) {
  const std::string url = endpoint();
  const std::string table = testing::unique_table_name("cli-replay-8");
  ASSERT_EQ(rcc(url, "table create --table " + table).status, 0);

  std::ifstream trace(trace_dir() + "/events.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(trace, line);) lines.push_back(line);
  ASSERT_GT(lines.size(), 3000u);

  constexpr int kProcesses = 8;
  std::mt19937 rng(20261201);
  std::vector<std::vector<std::string>> shards(kProcesses);
  for (const std::string& line : lines) {
    const int first = static_cast<int>(rng() % kProcesses);
    const int second = (first + 1 + static_cast<int>(rng() % (kProcesses - 1))) % kProcesses;
    shards[first].push_back(line);
    shards[second].push_back(line);
  }
  char pattern[] = "/tmp/rcc-replay-8-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  for (int p = 0; p < kProcesses; ++p) {
    std::shuffle(shards[p].begin(), shards[p].end(), rng);
    std::ofstream out(dir + "/shard-" + std::to_string(p) + ".jsonl");
    for (const std::string& line : shards[p]) out << line << '\n';
  }

  std::vector<testing::CommandRun> runs(kProcesses);
  std::vector<std::thread> processes;
  for (int p = 0; p < kProcesses; ++p) {
    processes.emplace_back([&, p] {
      runs[p] = rcc(url, "replay --environment prod --inventory " + trace_dir() + "/inventory.json --events " + dir +
                             "/shard-" + std::to_string(p) + ".jsonl --json --store dynamodb --table " + table);
    });
  }
  for (std::thread& t : processes) t.join();
  std::int64_t events = 0;
  for (int p = 0; p < kProcesses; ++p) {
    ASSERT_EQ(runs[p].status, 0) << runs[p].out;
    const json out = json::parse(runs[p].out, nullptr, false);
    ASSERT_TRUE(out.is_object()) << runs[p].out;
    EXPECT_EQ(out["failed"], 0) << runs[p].out;
    events += out["events"].get<std::int64_t>();
  }
  EXPECT_EQ(events, 2 * static_cast<std::int64_t>(lines.size()));

  // The counts of the whole table, read once every writer has finished.
  testing::CommandRun final_counts = rcc(url, "replay --environment prod --inventory " + trace_dir() +
                                                  "/inventory.json --events /dev/null --json --store dynamodb --table " +
                                                  table);
  ASSERT_EQ(final_counts.status, 0) << final_counts.out;
  EXPECT_EQ(json::parse(final_counts.out)["counts"], expected_counts());
  std::filesystem::remove_all(dir);
}

TEST(CliReplay, DynamoDbNeedsATable) {
  EXPECT_EQ(rcc(endpoint(), "replay --environment prod --inventory " + trace_dir() + "/inventory.json --events " +
                                trace_dir() + "/events.jsonl --store dynamodb 2>/dev/null")
                .status,
            2);
}

}  // namespace
}  // namespace rcc
