// Store: the table of DESIGN 3 behind an interface, so the counter, the reader and the simulator run the
// same code on the embedded store and on DynamoDB.
//
// Implementations: MemoryStore (rcc/memory_store.h) and DynamoStore (rcc/dynamo_store.h). Both pass the
// contract suite in src/core/store_contract.h. Unless an implementation says otherwise, a Store may be
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/instance.h"
#include "rcc/status.h"

namespace rcc {

enum class WriteOutcome {
  kApplied,     // the condition held and the item was written
  kSuperseded,  // the condition failed: a duplicate, an older observation, a terminated item, or a
                // known-mode write whose item is missing or of the other kind. An answer, not an error.
};

// An entry of the sparse `active` index: an active runner and its key.
struct ActiveEntry {
  std::string instance_id;
  std::string active_key;

  friend bool operator==(const ActiveEntry&, const ActiveEntry&) = default;
  friend auto operator<=>(const ActiveEntry&, const ActiveEntry&) = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Executes `t` as one conditional write (see transition_applies / apply_transition).
  // Returns kApplied or kSuperseded; an error only when the store could not answer (retryable or not).
  virtual Result<WriteOutcome> apply(const Transition& t) = 0;

  // The item of `instance_id`, nullopt when there is none.
  virtual Result<std::optional<InstanceItem>> get(std::string_view instance_id) = 0;

  // The number of active runners whose key string is `key` (the sparse index, all pages).
  virtual Result<std::int64_t> count_active(std::string_view key) = 0;

  // Every entry of the active index whose key starts with `key_prefix` ("" for all), in no set order.
  virtual Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) = 0;

  // Every instance item (not the meta item), for inspection; in no set order.
  virtual Result<std::vector<InstanceItem>> list_items() = 0;

  // The meta item, nullopt when it was never written.
  virtual Result<std::optional<MetaItem>> get_meta() = 0;

  // Moves heartbeat_ms forward to `now_ms` (never backward), creating the meta item when missing.
  virtual Status stamp_heartbeat(std::int64_t now_ms) = 0;

  // Records a finished reconcile: reconciled_ms = report.finished_ms and the report's figures, creating
  // the meta item when missing. Never moves reconciled_ms backward: when the meta item already records a
  // reconcile finished at or after report.finished_ms, nothing is written and OK is returned (the newer
  // record stays).
  virtual Status record_reconcile(const ReconcileReport& report) = 0;
};

}  // namespace rcc
