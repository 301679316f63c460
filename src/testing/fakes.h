// Test doubles for the core interfaces: a tag source, a store and EC2, each with fault injection and the
// call counts tests assert on. Header-only; link the CMake target rcc_testing_fakes.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <memory>
#include <string>
#include <vector>

#include "rcc/ec2.h"
#include "core/ec2_filter.h"
#include "core/memory_store.h"
#include "core/tag_source.h"
#include "rcc/env.h"

namespace rcc::testing {

// What the tests' deployments count: ENVIRONMENT_FILTER "prod".
inline const std::vector<std::string> kProdOnly = {"prod"};

// "i-" and `n` as 17 hex digits: a well-formed EC2 instance id, distinct for each n.
inline std::string instance_id(unsigned n) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", n);
  return id;
}

// A VirtualEnv holding `variables` (an empty value is unset).
inline std::unique_ptr<VirtualEnv> env_with(const std::map<std::string, std::string>& variables) {
  auto env = std::make_unique<VirtualEnv>();
  for (const auto& [name, value] : variables) env->set_env(name, value);
  return env;
}

inline Tags runner_tags(const std::string& env, const std::string& type, const std::string& owner) {
  return Tags{{std::string(kTagApplication), std::string(kRunnerApplication)},
              {std::string(kTagEnvironment), env},
              {std::string(kTagType), type},
              {std::string(kTagOwner), owner}};
}

// A random lifecycle of `id` starting at second `t`, in true order: boots, maybe fails at boot, maybe stops
// and starts, maybe ends. Event times never decrease; a restart is a later second than the stop.
inline std::vector<InstanceEvent> random_lifecycle(const std::string& id, std::int64_t t, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> gap(0, 40);
  std::vector<InstanceEvent> events;
  auto add = [&](InstanceState state, int min_gap) {
    t += min_gap + gap(rng);
    events.push_back(InstanceEvent{id, state, t, "e"});
  };
  add(InstanceState::kPending, 0);
  if (percent(rng) < 8) {  // fails at boot
    add(InstanceState::kShuttingDown, 0);
    add(InstanceState::kTerminated, 0);
    return events;
  }
  add(InstanceState::kRunning, 0);
  const int cycles = percent(rng) < 15 ? 1 + percent(rng) % 2 : 0;
  for (int c = 0; c < cycles; ++c) {
    add(InstanceState::kStopping, 0);
    add(InstanceState::kStopped, 0);
    if (percent(rng) < 20) return events;  // stays stopped
    add(InstanceState::kPending, 1);         // a restart is a later second than the stop
    add(InstanceState::kRunning, 0);
  }
  if (percent(rng) < 30) return events;  // still running at the end of the trace
  add(InstanceState::kShuttingDown, 0);
  add(InstanceState::kTerminated, 0);
  return events;
}

// Tags from a map; fails the next `fail_next` lookups with Throttled. Counts lookups per instance.
class FakeTagSource : public TagSource {
 public:
  Result<std::optional<Tags>> lookup(std::string_view instance_id, bool /*expect_exists*/) override {
    ++lookups[std::string(instance_id)];
    if (fail_next > 0) {
      --fail_next;
      return Status::Throttled("RequestLimitExceeded: Request limit exceeded.");
    }
    const auto it = tags.find(std::string(instance_id));
    if (it == tags.end()) return std::optional<Tags>();
    return std::optional<Tags>(it->second);
  }

  std::map<std::string, Tags> tags;
  std::map<std::string, int> lookups;
  int fail_next = 0;
};

// A MemoryStore (`inner`) that fails on demand and counts calls.
class FaultyStore : public Store {
 public:
  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override {
    ++writes;
    if (fail_writes > 0) {
      --fail_writes;
      return Status::Unavailable("injected: request lost");
    }
    auto outcome = inner.apply(t, key);
    if (lose_response_of > 0 && --lose_response_of == 0) return Status::Unavailable("injected: response lost");
    return outcome;
  }
  Result<std::optional<InstanceItem>> get(std::string_view id) override {
    if (fail_reads > 0) {
      --fail_reads;
      return Status::Throttled("injected: ProvisionedThroughputExceededException");
    }
    return inner.get(id);
  }
  Result<std::int64_t> count_active(std::string_view key) override {
    ++count_reads;
    if (fail_count) return Status::Unavailable("injected: index read failed");
    return inner.count_active(key);
  }
  Result<std::vector<ActiveEntry>> list_active(std::string_view prefix) override { return inner.list_active(prefix); }
  Result<std::vector<InstanceItem>> list_items() override { return inner.list_items(); }
  Result<std::optional<MetaItem>> get_meta() override {
    ++meta_reads;
    if (fail_meta) return Status::NotFound("injected: ResourceNotFoundException: table not found");
    return inner.get_meta();
  }
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override {
    ++writes;
    return inner.stamp_heartbeat(now_ms, environments);
  }
  Status record_reconcile(const ReconcileReport& r) override {
    ++writes;
    return inner.record_reconcile(r);
  }
  Result<SlotLease> get_lease(std::string_view key) override { return inner.get_lease(key); }
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override {
    ++writes;
    if (fail_writes > 0) {
      --fail_writes;
      return Status::Unavailable("injected: request lost");
    }
    return inner.grant_slots(key, expected_version, holder, entry, removals, ttl_s);
  }
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override {
    ++writes;
    if (fail_writes > 0) {
      --fail_writes;
      return Status::Unavailable("injected: request lost");
    }
    return inner.settle_grant(key, holder, entry);
  }

  MemoryStore inner;
  // Faults: the next `fail_writes` writes (item writes and lease writes) fail without writing (a request that never arrived); the
  // `lose_response_of`-th write from now lands and then fails (a lost response); the next `fail_reads`
  // item reads fail; every index count or meta read fails while `fail_count` / `fail_meta` is set.
  int fail_writes = 0;
  int lose_response_of = 0;
  int fail_reads = 0;
  bool fail_count = false;
  bool fail_meta = false;
  // Calls made: writes (item, heartbeat and reconcile record), index counts, meta reads.
  int writes = 0;
  int count_reads = 0;
  int meta_reads = 0;
};

// One MemoryStore shared by handles that take a lock around each call: a table several threads use at once.
class LockedStore : public Store {
 public:
  LockedStore(MemoryStore& table, std::mutex& mu) : table_(table), mu_(mu) {}

 private:
  template <typename F>
  auto locked(F&& f) {
    std::lock_guard lock(mu_);
    return f();
  }

 public:
  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override {
    return locked([&] { return table_.apply(t, key); });
  }
  Result<std::optional<InstanceItem>> get(std::string_view id) override {
    return locked([&] { return table_.get(id); });
  }
  Result<std::int64_t> count_active(std::string_view key) override {
    return locked([&] { return table_.count_active(key); });
  }
  Result<std::vector<ActiveEntry>> list_active(std::string_view prefix) override {
    return locked([&] { return table_.list_active(prefix); });
  }
  Result<std::vector<InstanceItem>> list_items() override { return locked([&] { return table_.list_items(); }); }
  Result<std::optional<MetaItem>> get_meta() override { return locked([&] { return table_.get_meta(); }); }
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override {
    return locked([&] { return table_.stamp_heartbeat(now_ms, environments); });
  }
  Status record_reconcile(const ReconcileReport& r) override {
    return locked([&] { return table_.record_reconcile(r); });
  }
  Result<SlotLease> get_lease(std::string_view key) override {
    return locked([&] { return table_.get_lease(key); });
  }
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override {
    return locked([&] { return table_.grant_slots(key, expected_version, holder, entry, removals, ttl_s); });
  }
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override {
    return locked([&] { return table_.settle_grant(key, holder, entry); });
  }

 private:
  MemoryStore& table_;
  std::mutex& mu_;
};

// EC2 over a map of instances, applying filters as EC2 does (core/ec2_filter.h; an unknown filter is
// InvalidArgument). The next `fail_next` calls fail with `failure`.
class FakeEc2 : public Ec2 {
 public:
  Result<Ec2Instance> describe_instance(std::string_view instance_id) override {
    ++requests_;
    if (fail_next > 0) {
      --fail_next;
      return failure;
    }
    const auto it = instances.find(std::string(instance_id));
    if (it == instances.end()) return Status::NotFound("InvalidInstanceID.NotFound");
    return it->second;
  }

  Result<std::vector<Ec2Instance>> describe_instances(const std::vector<Ec2Filter>& filters) override {
    ++requests_;
    last_filters = filters;
    if (fail_next > 0) {
      --fail_next;
      return failure;
    }
    if (Status s = check_ec2_filters(filters); !s.ok()) return s;
    std::vector<Ec2Instance> out;
    for (const auto& [id, instance] : instances) {
      if (ec2_filters_match(filters, instance)) out.push_back(instance);
    }
    return out;
  }

  std::int64_t requests_sent() const override { return requests_; }

  void add(const std::string& id, InstanceState state, Tags tags, std::int64_t launch_time_ms = 0) {
    instances[id] = Ec2Instance{id, state, std::move(tags), launch_time_ms};
  }

  std::map<std::string, Ec2Instance> instances;
  std::vector<Ec2Filter> last_filters;
  int fail_next = 0;
  Status failure = Status::Throttled("RequestLimitExceeded: Request limit exceeded.");

 private:
  std::int64_t requests_ = 0;
};

}  // namespace rcc::testing
