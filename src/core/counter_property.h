// Property shared by the counter's tests on MemoryStore and on DynamoStore: for seeded random fleets
// delivered with duplicates, reordering, failed lookups, failed and half-failed writes and retries, every
// key's count at quiescence equals the ground truth, every item holds its instance's last state, and no
// runner is ever in the index twice.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "core/counter.h"
#include "core/forwarding_store.h"

namespace rcc::testing {

struct FleetInstance {
  std::string id;
  Tags tags;
  std::vector<InstanceEvent> history;  // true order
};


struct Fleet {
  std::vector<FleetInstance> instances;
  std::map<std::string, std::int64_t> truth;  // key -> active count at quiescence
};

inline Fleet make_fleet(std::mt19937_64& rng) {
  static const char* kOwners[] = {"acme", "globex", "acme/app", "initech/api"};
  std::uniform_int_distribution<int> percent(0, 99);
  Fleet fleet;
  const int n = 5 + static_cast<int>(rng() % 60);
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "i-%017x", static_cast<unsigned>(i + 1));
    FleetInstance instance{id, {}, {}};
    const int kind = percent(rng);
    if (kind < 10) {
      instance.tags = Tags{{"Name", "not-a-runner"}};
    } else if (kind < 15) {
      instance.tags = runner_tags("staging", "Org", "acme");
    } else {
      const std::string owner = kOwners[rng() % 4];
      instance.tags = runner_tags("prod", owner.find('/') == std::string::npos ? "Org" : "Repo", owner);
    }
    instance.history = testing::random_lifecycle(id, 1000 + static_cast<std::int64_t>(rng() % 600), rng);
    const InstanceIdentity identity = identify(instance.tags, "prod");
    if (identity.runner && is_active(instance.history.back().state)) ++fleet.truth[identity.tagged.str()];
    fleet.instances.push_back(std::move(instance));
  }
  return fleet;
}

// Deliveries: every event, some twice, shuffled within a window around its true time.
inline std::deque<InstanceEvent> deliveries(const Fleet& fleet, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> jitter(0, 90);
  std::vector<std::pair<std::int64_t, InstanceEvent>> timed;
  for (const auto& instance : fleet.instances) {
    for (const auto& event : instance.history) {
      timed.emplace_back(event.time_s + jitter(rng), event);
      if (percent(rng) < 10) timed.emplace_back(event.time_s + jitter(rng) + 30, event);
    }
  }
  std::stable_sort(timed.begin(), timed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::deque<InstanceEvent> out;
  for (auto& [at, event] : timed) out.push_back(std::move(event));
  return out;
}

// The active count of every key in `store`'s index; fails the test when the index lists a runner twice.
inline std::map<std::string, std::int64_t> index_counts(Store& store, std::uint64_t seed) {
  std::map<std::string, std::int64_t> counts;
  auto entries = store.list_active("");
  EXPECT_TRUE(entries.ok()) << "seed " << seed << ": " << entries.status().to_string();
  if (!entries.ok()) return counts;
  std::set<std::string> ids;
  for (const auto& entry : *entries) {
    EXPECT_TRUE(ids.insert(entry.instance_id).second) << "seed " << seed << ": " << entry.instance_id << " twice";
    ++counts[entry.active_key];
  }
  return counts;
}

// A Store over `inner` that loses the next requests it is told to: a write lost before it reaches the
// table (fail_writes), the response of the n-th next write lost after it applied (lose_response_of), a
// throttled read (fail_reads). Everything else goes to `inner` as it is.
class LossyStore : public ForwardingStore {
 public:
  explicit LossyStore(Store& inner) : ForwardingStore(inner) {}
  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override {
    if (fail_writes > 0) {
      --fail_writes;
      return Status::Unavailable("injected: request lost");
    }
    auto outcome = inner().apply(t, key);
    if (lose_response_of > 0 && --lose_response_of == 0) return Status::Unavailable("injected: response lost");
    return outcome;
  }
  Result<std::optional<InstanceItem>> get(std::string_view id) override {
    if (fail_reads > 0) {
      --fail_reads;
      return Status::Throttled("injected: ProvisionedThroughputExceededException");
    }
    return inner().get(id);
  }

  int fail_writes = 0;
  int lose_response_of = 0;
  int fail_reads = 0;
};

// Runs seed `seed` on `table`, which must be empty: the fleet's events are applied through a LossyStore
// over it, then every key's count must equal the truth, every item its instance's last state, and no
// runner may be listed twice in the index at any point. Reports through GoogleTest, naming the seed.
inline void check_fleet_converges(Store& table, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> percent(0, 99);
  const Fleet fleet = make_fleet(rng);
  FakeTagSource tags;
  for (const auto& instance : fleet.instances) tags.tags[instance.id] = instance.tags;
  LossyStore store(table);
  const CounterOptions options{{"prod"}, 86400};

  std::deque<InstanceEvent> queue = deliveries(fleet, rng);
  std::int64_t now_ms = 2'000'000;
  int retries = 0;
  while (!queue.empty()) {
    InstanceEvent event = std::move(queue.front());
    queue.pop_front();
    // Faults: throttled lookups, lost requests, lost responses, throttled reads.
    const int fault = percent(rng);
    if (fault < 3) tags.fail_next = 1;
    else if (fault < 6) store.fail_writes = 1;
    else if (fault < 9) store.lose_response_of = 1 + static_cast<int>(rng() % 3);
    else if (fault < 11) store.fail_reads = 1;
    now_ms += 50;
    auto report = apply_event(store, tags, event, options, now_ms);
    tags.fail_next = 0;
    store.fail_writes = 0;
    store.lose_response_of = 0;
    store.fail_reads = 0;
    if (!report.ok()) {
      ASSERT_TRUE(report.status().retryable()) << "seed " << seed << ": " << report.status().to_string();
      ++retries;
      // Lambda retries the failed event later.
      const auto at = std::min<std::size_t>(queue.size(), 1 + rng() % 20);
      queue.insert(queue.begin() + static_cast<std::ptrdiff_t>(at), std::move(event));
    }
    index_counts(table, seed);
    if (::testing::Test::HasFailure()) return;
  }

  EXPECT_EQ(index_counts(table, seed), fleet.truth) << "seed " << seed;
  for (const auto& instance : fleet.instances) {
    auto item = table.get(instance.id);
    ASSERT_TRUE(item.ok() && item->has_value()) << "seed " << seed << ": no item for " << instance.id;
    EXPECT_EQ((*item)->state, instance.history.back().state) << "seed " << seed << ": " << instance.id;
    EXPECT_LE(tags.lookups[instance.id], 1 + retries) << "seed " << seed;
  }
}

}  // namespace rcc::testing
