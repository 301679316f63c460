// LatencyStore: a Store that forwards to another and charges each call its modelled DynamoDB latency on
// the current activity's virtual clock.
//
// Every request (GetItem, a conditional UpdateItem, a Query of the index, a Scan, the meta read and
// writes, the slot lease's read and conditional writes) takes uniform(min_ms, max_ms), drawn from the
// simulator's own random stream. The store underneath answers at once; the time is the model's, so the
// same seed gives the same figures on the embedded store and on a DynamoDB endpoint.
#pragma once

#include <cstdint>

#include "sim/random.h"
#include "rcc/store.h"
#include "sim/timeline.h"

namespace rcc::sim {

class LatencyStore : public Store {
 public:
  // `inner` and `timeline` must outlive this object; requires 0 <= min_ms <= max_ms.
  LatencyStore(Store& inner, Timeline& timeline, double min_ms, double max_ms, SimRandom random)
      : inner_(inner), timeline_(timeline), min_ms_(min_ms), max_ms_(max_ms), random_(random) {}

  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override;
  Result<std::optional<InstanceItem>> get(std::string_view instance_id) override;
  Result<std::int64_t> count_active(std::string_view key) override;
  Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) override;
  Result<std::vector<InstanceItem>> list_items() override;
  Result<std::optional<MetaItem>> get_meta() override;
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override;
  Status record_reconcile(const ReconcileReport& report) override;
  Result<SlotLease> get_lease(std::string_view key) override;
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override;
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override;

  // Requests charged so far.
  std::int64_t requests() const { return requests_; }

 private:
  // One request's latency, added to the activity's clock.
  void charge();

  Store& inner_;
  Timeline& timeline_;
  double min_ms_;
  double max_ms_;
  SimRandom random_;
  std::int64_t requests_ = 0;
};

}  // namespace rcc::sim
