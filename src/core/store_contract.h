// The Store contract: one GoogleTest suite every Store implementation must pass.
//
// Instantiate it with a factory that returns a fresh, empty store for each test:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreContract,
//       ::testing::Values(rcc::StoreFactory([] { return std::make_unique<rcc::MemoryStore>(); })));
//
// The cases pin docs/table-contract.md and docs/counting.md: the conditional write, the sparse active
// index, TTL placement and the meta item. They are defined in store_contract.cc, which the instantiating
// test links (target rcc_store_contract).
#pragma once

#include <functional>
#include <memory>

#include <gtest/gtest.h>

#include "rcc/store.h"

namespace rcc {

using StoreFactory = std::function<std::unique_ptr<Store>()>;

class StoreContract : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam()(); }
  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};

}  // namespace rcc
