// Property shared by the registration tests on MemoryStore and on DynamoStore: launch registration and
// the counter's events, delivered in any order with duplicates and lost events, leave every item in its
// instance's last observed state, never revive a terminated instance, and spare the tag lookup of every
// instance registered before its first event. With lookups off (lookup_unregistered false) no instance is
// ever looked up, and every runner is counted except one whose registration found its item stopped
// (unresolved and inactive: reconcile counts it if it starts again).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "core/counter.h"
#include "rcc/registration.h"

namespace rcc::testing {

// One delivery: an event of instance `index`, or (event == nullopt) its registration.
struct RegistrationDelivery {
  int index = 0;
  std::optional<InstanceEvent> event;
};

// Runs one seeded scenario of `instances` launches on `store` (which may hold other seeds' items: ids and
// owners are made distinct per seed). Reports failures through GoogleTest with the seed in the message.
inline void check_registration_against_events(Store& store, std::uint64_t seed, int instances,
                                              bool lookup_unregistered = true) {
  SCOPED_TRACE("seed " + std::to_string(seed) + (lookup_unregistered ? "" : ", lookups off") +
               " (re-run this seed alone to reproduce)");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> percent(0, 99);
  const std::string owner = "owner-" + std::to_string(seed);
  const RunnerKey key{"prod", "Org", owner};
  constexpr std::int64_t kNowMs = 1'700'000'000'000;

  FakeTagSource tags;
  std::vector<LaunchedRunner> launches;
  std::vector<std::vector<InstanceEvent>> histories;
  std::vector<RegistrationDelivery> deliveries;
  for (int i = 0; i < instances; ++i) {
    const std::string id = instance_id(static_cast<unsigned>(seed % 100000) * 64 + static_cast<unsigned>(i));
    const std::int64_t t0 = 1000 + static_cast<std::int64_t>(rng() % 50);
    histories.push_back(random_lifecycle(id, t0, rng));
    tags.tags[id] = runner_tags("prod", "Org", owner);
    // The launch time is taken before the launch request: at or a little before the pending event.
    launches.push_back(LaunchedRunner{id, key, t0 - static_cast<std::int64_t>(rng() % 3)});
    const bool events_lost = percent(rng) < 15;  // e.g. the launch failed after CreateFleet answered
    if (!events_lost) {
      for (const InstanceEvent& e : histories.back()) {
        deliveries.push_back({i, e});
        if (percent(rng) < 25) deliveries.push_back({i, e});  // at-least-once delivery
      }
    }
    deliveries.push_back({i, std::nullopt});
    if (percent(rng) < 20) deliveries.push_back({i, std::nullopt});  // a retried registration
    if (events_lost) histories.back().clear();
  }
  std::shuffle(deliveries.begin(), deliveries.end(), rng);

  const CounterOptions counter{{"prod"}, 86400, lookup_unregistered};
  std::vector<bool> seen(instances, false);          // any delivery of the instance has landed
  std::vector<bool> registered_first(instances, false);
  std::vector<bool> terminated(instances, false);
  std::vector<bool> claimable(instances, true);      // lookups off: the registration found nothing, or an
                                                     // unresolved active item, at its first landing
  std::vector<bool> registration_landed(instances, false);
  std::int64_t step_ms = kNowMs;
  for (const RegistrationDelivery& d : deliveries) {
    step_ms += 7;
    const std::string& id = launches[d.index].instance_id;
    if (d.event) {
      auto report = apply_event(store, tags, *d.event, counter, step_ms);
      ASSERT_TRUE(report.ok()) << report.status().to_string();
    } else {
      auto before = store.get(id);
      ASSERT_TRUE(before.ok()) << before.status().to_string();
      const bool claims = !before->has_value() ||
                          ((*before)->identity.unresolved && is_active((*before)->state));
      auto results = register_launches(store, {launches[d.index]}, RegistrationOptions{"prod"}, step_ms);
      ASSERT_EQ(results.size(), 1u);
      ASSERT_TRUE(results[0].status.ok()) << results[0].status.to_string();
      // Registered exactly when nothing about the instance has been written before (or, lookups off,
      // when the counter recorded it unresolved and it is still active).
      EXPECT_EQ(results[0].outcome, claims ? RegistrationOutcome::kRegistered : RegistrationOutcome::kAlreadyKnown)
          << id;
      if (lookup_unregistered) {
        EXPECT_EQ(claims, !seen[d.index]) << id;
      }
      if (!seen[d.index]) registered_first[d.index] = true;
      if (!registration_landed[d.index]) claimable[d.index] = claims;
      registration_landed[d.index] = true;
    }
    seen[d.index] = true;
    auto item = store.get(id);
    ASSERT_TRUE(item.ok()) << item.status().to_string();
    ASSERT_TRUE(item->has_value()) << id;
    if (terminated[d.index]) {
      EXPECT_EQ((*item)->state, InstanceState::kTerminated) << id << " was revived";
    }
    terminated[d.index] = (*item)->state == InstanceState::kTerminated;
  }

  std::int64_t expected_active = 0;
  for (int i = 0; i < instances; ++i) {
    const std::string& id = launches[i].instance_id;
    // The last observation wins; with every event lost, the registration stands (reconcile repairs it).
    InstanceState expected = InstanceState::kPending;
    std::int64_t best = -1;
    for (const InstanceEvent& e : histories[i]) {
      if (e.order() > best) {
        best = e.order();
        expected = e.state;
      }
    }
    auto item = store.get(id);
    ASSERT_TRUE(item.ok() && item->has_value()) << id;
    EXPECT_EQ((*item)->state, expected) << id;
    const int lookups = tags.lookups.count(id) ? tags.lookups.at(id) : 0;
    if (!lookup_unregistered && !(*item)->identity.runner) {
      // Unresolved: its registration landed on a finished or stopped item, or never landed first...
      EXPECT_TRUE((*item)->identity.unresolved) << id;
      EXPECT_FALSE(claimable[i]) << id << ": registered while claimable, yet unresolved";
      EXPECT_EQ(lookups, 0) << id;
      continue;  // ...and reconcile counts it if it is active (not this property's business)
    }
    EXPECT_TRUE((*item)->identity.runner) << id;
    EXPECT_FALSE((*item)->identity.unresolved) << id;
    EXPECT_EQ((*item)->identity.tagged, key) << id;
    if (is_active(expected)) ++expected_active;
    if (!lookup_unregistered) {
      EXPECT_EQ(lookups, 0) << id << ": looked up with lookups off";
    } else if (registered_first[i]) {
      EXPECT_EQ(lookups, 0) << id << ": registered before its events, yet looked up";
    } else {
      EXPECT_LE(lookups, 1) << id;
    }
  }
  auto n = store.count_active(key.str());
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, expected_active);
}

}  // namespace rcc::testing
