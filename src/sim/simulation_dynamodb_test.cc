// The simulator on a DynamoDB table (dynalite): the same code path as the embedded store, at a small scale.
#include <gtest/gtest.h>

#include "testing/dynalite.h"
#include "rcc/dynamo_store.h"
#include "core/memory_store.h"
#include "sim/simulation.h"

namespace rcc {
namespace {

SimulationOptions tiny() {
  SimulationOptions o;
  o.seed = 5;
  o.runners_per_day = 2400;
  o.hours = 2;
  o.max_runners = 15;
  o.drop_rate = 0.02;  // so reconcile has drift to repair on the table
  return o;
}

TEST(SimulationOnDynamoDb, GivesTheSameFiguresAsTheEmbeddedStore) {
  auto dynalite = testing::Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  AwsClient admin = (*dynalite)->client();
  const std::string table = testing::unique_table_name("sim");
  const std::string register_table = testing::unique_table_name("sim-register");
  ASSERT_TRUE(testing::create_runner_table(admin, table).ok());
  ASSERT_TRUE(testing::create_runner_table(admin, register_table).ok());
  DynamoStore dynamo((*dynalite)->client(), DynamoStoreOptions{table});
  DynamoStore register_dynamo((*dynalite)->client(), DynamoStoreOptions{register_table});

  auto on_dynamo = run_simulation(tiny(), dynamo, register_dynamo);
  ASSERT_TRUE(on_dynamo.ok()) << on_dynamo.status().to_string();
  MemoryStore memory, register_memory;
  auto on_memory = run_simulation(tiny(), memory, register_memory);
  ASSERT_TRUE(on_memory.ok()) << on_memory.status().to_string();

  EXPECT_GT(on_dynamo->of(SimStrategy::kCache).counter.dropped, 0);
  EXPECT_EQ(on_dynamo->of(SimStrategy::kCache).count_error.final, 0);
  EXPECT_GT(on_dynamo->of(SimStrategy::kCache).count_error.final_true_active, 0);
  EXPECT_GT(dynamo.stats().requests_sent, 1000);
  // The register run's lease and registration requests went to its own table.
  EXPECT_EQ(on_dynamo->of(SimStrategy::kRegister).count_error.final, 0);
  EXPECT_GT(on_dynamo->of(SimStrategy::kRegister).slots.registered, 0);
  EXPECT_GT(register_dynamo.stats().requests_sent, 1000);
  // Virtual time makes the run independent of the table's real latency: the figures are identical.
  EXPECT_EQ(simulation_json(*on_dynamo), simulation_json(*on_memory));
  EXPECT_TRUE(delete_table(admin, table).ok());
  EXPECT_TRUE(delete_table(admin, register_table).ok());
}

}  // namespace
}  // namespace rcc
