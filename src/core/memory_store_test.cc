#include "core/memory_store.h"

#include <gtest/gtest.h>

#include "core/store_contract.h"

namespace rcc {
namespace {

const std::vector<std::string> kProdOnly = {"prod"};

INSTANTIATE_TEST_SUITE_P(Memory, StoreContract,
                         ::testing::Values(StoreFactory([] { return std::make_unique<MemoryStore>(); })));

TEST(MemoryStore, ActiveCountsListsEveryNonZeroKey) {
  MemoryStore store;
  const InstanceIdentity acme{true, RunnerKey{"prod", "Org", "acme"}};
  ASSERT_TRUE(store.apply(make_transition(WriteMode::kUpsert, "i-0000000a", InstanceState::kRunning, 1, 0, 60, acme)).ok());
  ASSERT_TRUE(store.apply(make_transition(WriteMode::kUpsert, "i-0000000b", InstanceState::kStopped, 1, 0, 60, acme)).ok());
  EXPECT_EQ(store.active_counts(), (std::map<std::string, std::int64_t>{{"prod#Org#acme", 1}}));
  ASSERT_TRUE(store.apply(make_transition(WriteMode::kKnownRunner, "i-0000000a", InstanceState::kTerminated, 2, 0, 60)).ok());
  EXPECT_TRUE(store.active_counts().empty());
}

TEST(MemoryStore, CountsBilledCalls) {
  MemoryStore store;
  ASSERT_TRUE(store.get("i-0000000a").ok());
  ASSERT_TRUE(store.count_active("k").ok());
  ASSERT_TRUE(store.stamp_heartbeat(1, kProdOnly).ok());
  EXPECT_EQ(store.reads(), 2);
  EXPECT_EQ(store.writes(), 1);
}

}  // namespace
}  // namespace rcc
