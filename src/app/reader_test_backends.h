// Table backends for the reader's integration tests and benchmarks: the embedded MemoryStore and
// DynamoStore on dynalite, each with two handles on one table (the reader's concurrent reads) and ways to
// make reads fail.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testing/dynalite.h"
#include "testing/fakes.h"
#include "rcc/dynamo_store.h"
#include "rcc/http_client.h"
#include "core/memory_store.h"
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

// A handle whose every read fails with `status`, as a table that cannot be reached.
class UnreachableStore : public Store {
 public:
  explicit UnreachableStore(Status status) : status_(std::move(status)) {}
  Result<WriteOutcome> apply(const Transition&, std::string*) override { return status_; }
  Result<std::optional<InstanceItem>> get(std::string_view) override { return status_; }
  Result<std::int64_t> count_active(std::string_view) override { return status_; }
  Result<std::vector<ActiveEntry>> list_active(std::string_view) override { return status_; }
  Result<std::vector<InstanceItem>> list_items() override { return status_; }
  Result<std::optional<MetaItem>> get_meta() override { return status_; }
  Status stamp_heartbeat(std::int64_t, std::span<const std::string>) override { return status_; }
  Status record_reconcile(const ReconcileReport&) override { return status_; }
  Result<SlotLease> get_lease(std::string_view) override { return status_; }
  Result<WriteOutcome> grant_slots(std::string_view, std::int64_t, std::string_view, const GrantEntry&,
                                   const std::vector<std::string>&, std::int64_t) override {
    return status_;
  }
  Result<WriteOutcome> settle_grant(std::string_view, std::string_view, const std::optional<GrantEntry>&) override {
    return status_;
  }

 private:
  Status status_;
};

// Records every request (target and body) before handing it to a real HTTP client.
class RecordingHttpClient : public HttpClient {
 public:
  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& timeouts) override {
    std::string target;
    for (const auto& [name, value] : request.headers) {
      if (name == "X-Amz-Target") target = value;
    }
    {
      std::lock_guard lock(*mu);
      requests->push_back({target, request.body});
    }
    return inner.send(request, timeouts);
  }

  BeastHttpClient inner;
  std::shared_ptr<std::mutex> mu;  // shared by the clients that append to `requests`
  std::shared_ptr<std::vector<std::pair<std::string, std::string>>> requests;
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

// "http://127.0.0.1:<port>" where nothing listens: a port bound and released at once.
inline std::string stopped_endpoint() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// A fresh table on the process's dynalite, with two DynamoStore handles (each its own connection).
class DynaliteBackend : public Backend {
 public:
  static Result<std::unique_ptr<Backend>> create(int page_limit = 0) {
    auto dynalite = Dynalite::shared();
    if (!dynalite.ok()) return dynalite.status();
    AwsClient admin = (*dynalite)->client();
    const std::string table = unique_table_name("reader");
    RCC_RETURN_IF_ERROR(create_runner_table(admin, table));
    return std::unique_ptr<Backend>(new DynaliteBackend(**dynalite, table, page_limit));
  }

  Store& store() override { return store_; }
  Store& meta_store() override { return meta_store_; }
  DynamoStore& dynamo_store() { return store_; }
  DynamoStore& dynamo_meta_store() { return meta_store_; }

  std::vector<std::pair<int, std::string>> read_faults() override {
    return {{0, "the table does not exist"}, {1, "the endpoint is stopped"}};
  }

  Result<std::unique_ptr<Backend>> broken(int fault) override {
    if (fault == 0) {
      return std::unique_ptr<Backend>(std::make_unique<PartlyBrokenBackend>(
          std::make_unique<DynamoStore>(dynalite_.client(), DynamoStoreOptions{"no-such-table"}),
          std::make_unique<DynamoStore>(dynalite_.client(), DynamoStoreOptions{"no-such-table"})));
    }
    const std::string endpoint = stopped_endpoint();
    auto client = [&] {
      AwsClientOptions options;
      options.retry.max_attempts = 2;
      options.retry.base_delay = std::chrono::milliseconds(1);
      return AwsClient(std::make_shared<BeastHttpClient>(), endpoint, "dynamodb", "us-east-1",
                       AwsCredentials{"fake", "fake", ""}, options);
    };
    return std::unique_ptr<Backend>(std::make_unique<PartlyBrokenBackend>(
        std::make_unique<DynamoStore>(client(), DynamoStoreOptions{table_}),
        std::make_unique<DynamoStore>(client(), DynamoStoreOptions{table_})));
  }

 private:
  DynaliteBackend(Dynalite& dynalite, std::string table, int page_limit)
      : dynalite_(dynalite),
        table_(std::move(table)),
        store_(dynalite.client(), DynamoStoreOptions{table_, page_limit}),
        meta_store_(dynalite.client(), DynamoStoreOptions{table_, page_limit}) {}

  Dynalite& dynalite_;
  std::string table_;
  DynamoStore store_;
  DynamoStore meta_store_;
};

inline std::vector<BackendKind> all_backends() { return {BackendKind::kMemory, BackendKind::kDynalite}; }

inline Result<std::unique_ptr<Backend>> make_backend(BackendKind kind) {
  if (kind == BackendKind::kMemory) return std::unique_ptr<Backend>(std::make_unique<MemoryBackend>());
  return DynaliteBackend::create();
}

}  // namespace rcc::testing
