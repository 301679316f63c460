// Table backends for the reader's integration tests and benchmarks: the embedded MemoryStore and (when the
// dynalite helper is present) DynamoStore on a dynalite server, each with two handles on one table (the
// reader's concurrent reads) and ways to make reads fail.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rcc/memory_store.h"
#include "rcc/store.h"

namespace rcc::testing {

enum class BackendKind { kMemory, kDynalite };

inline std::string_view backend_name(BackendKind kind) {
  return kind == BackendKind::kMemory ? "Memory" : "Dynalite";
}

class Backend {
 public:
  virtual ~Backend() = default;
  // Two handles on the same table, usable from two threads at once.
  virtual Store& store() = 0;
  virtual Store& meta_store() = 0;
  // The ways this backend's reads can be made to fail: an id for broken() and a description.
  virtual std::vector<std::pair<int, std::string>> read_faults() = 0;
  // Handles on the same data whose reads fail as `fault` describes.
  virtual Result<std::unique_ptr<Backend>> broken(int fault) = 0;
};

// One MemoryStore shared by handles that take a lock around each call.
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
  Result<WriteOutcome> apply(const Transition& t) override { return locked([&] { return table_.apply(t); }); }
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
  Status stamp_heartbeat(std::int64_t now_ms) override {
    return locked([&] { return table_.stamp_heartbeat(now_ms); });
  }
  Status record_reconcile(const ReconcileReport& r) override {
    return locked([&] { return table_.record_reconcile(r); });
  }

 private:
  MemoryStore& table_;
  std::mutex& mu_;
};

// A handle whose every read fails with `status`, as a table that cannot be reached.
class UnreachableStore : public Store {
 public:
  explicit UnreachableStore(Status status) : status_(std::move(status)) {}
  Result<WriteOutcome> apply(const Transition&) override { return status_; }
  Result<std::optional<InstanceItem>> get(std::string_view) override { return status_; }
  Result<std::int64_t> count_active(std::string_view) override { return status_; }
  Result<std::vector<ActiveEntry>> list_active(std::string_view) override { return status_; }
  Result<std::vector<InstanceItem>> list_items() override { return status_; }
  Result<std::optional<MetaItem>> get_meta() override { return status_; }
  Status stamp_heartbeat(std::int64_t) override { return status_; }
  Status record_reconcile(const ReconcileReport&) override { return status_; }

 private:
  Status status_;
};

class MemoryBackend : public Backend {
 public:
  MemoryBackend() : store_(table_, mu_), meta_store_(table_, mu_) {}
  Store& store() override { return store_; }
  Store& meta_store() override { return meta_store_; }
  std::vector<std::pair<int, std::string>> read_faults() override {
    return {{0, "both handles unreachable"}, {1, "index handle unreachable"}, {2, "meta handle unreachable"}};
  }
  Result<std::unique_ptr<Backend>> broken(int fault) override;

 private:
  MemoryStore table_;
  std::mutex mu_;
  LockedStore store_;
  LockedStore meta_store_;
};

// Handles of which either may be replaced by an unreachable one.
class PartlyBrokenBackend : public Backend {
 public:
  PartlyBrokenBackend(std::unique_ptr<Store> store, std::unique_ptr<Store> meta_store)
      : store_(std::move(store)), meta_store_(std::move(meta_store)) {}
  Store& store() override { return *store_; }
  Store& meta_store() override { return *meta_store_; }
  std::vector<std::pair<int, std::string>> read_faults() override { return {}; }
  Result<std::unique_ptr<Backend>> broken(int) override { return Status::InvalidArgument("already broken"); }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> meta_store_;
};

inline Result<std::unique_ptr<Backend>> MemoryBackend::broken(int fault) {
  const Status down = Status::Unavailable("injected: connection refused");
  std::unique_ptr<Store> store = std::make_unique<UnreachableStore>(down);
  std::unique_ptr<Store> meta = std::make_unique<UnreachableStore>(down);
  if (fault == 1) meta = std::make_unique<LockedStore>(table_, mu_);
  if (fault == 2) store = std::make_unique<LockedStore>(table_, mu_);
  return std::unique_ptr<Backend>(std::make_unique<PartlyBrokenBackend>(std::move(store), std::move(meta)));
}

inline std::vector<BackendKind> all_backends() { return {BackendKind::kMemory}; }

inline Result<std::unique_ptr<Backend>> make_backend(BackendKind kind) {
  if (kind == BackendKind::kMemory) return std::unique_ptr<Backend>(std::make_unique<MemoryBackend>());
  return Status::NotFound("the dynalite backend needs src/testing/dynalite.h");
}

}  // namespace rcc::testing
