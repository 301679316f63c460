// Test doubles for apply_event: a tag source and a store wrapper that fail on demand.
#pragma once

#include <map>
#include <string>

#include "rcc/memory_store.h"
#include "rcc/tag_source.h"

namespace rcc::testing {

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

// A MemoryStore whose calls fail on demand: the next `fail_before` writes fail without writing (a request
// that never arrived); the `lose_response_of`-th write from now lands and then fails (a lost response).
class FlakyStore : public Store {
 public:
  Result<WriteOutcome> apply(const Transition& t) override {
    if (fail_before > 0) {
      --fail_before;
      return Status::Unavailable("injected: request lost");
    }
    auto outcome = inner.apply(t);
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
  Result<std::int64_t> count_active(std::string_view key) override { return inner.count_active(key); }
  Result<std::vector<ActiveEntry>> list_active(std::string_view prefix) override { return inner.list_active(prefix); }
  Result<std::vector<InstanceItem>> list_items() override { return inner.list_items(); }
  Result<std::optional<MetaItem>> get_meta() override { return inner.get_meta(); }
  Status stamp_heartbeat(std::int64_t now_ms) override { return inner.stamp_heartbeat(now_ms); }
  Status record_reconcile(const ReconcileReport& r) override { return inner.record_reconcile(r); }

  MemoryStore inner;
  int fail_before = 0;
  int lose_response_of = 0;
  int fail_reads = 0;
};

inline Tags runner_tags(const std::string& env, const std::string& type, const std::string& owner) {
  return Tags{{"ghr:Application", "github-action-runner"},
              {"ghr:environment", env},
              {"ghr:Type", type},
              {"ghr:Owner", owner}};
}

}  // namespace rcc::testing
