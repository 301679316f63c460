// Fuzzes what DynamoStore reads from DynamoDB: the input is the body of every answer, given to each
// Store operation (GetItem, Query and Scan pages, UpdateItem answers, the slot lease's GetItem and
// UpdateItems) as a 200 and to the error parser as a 4xx and a 5xx.
//
// Properties: no crash, throw or leak; a failed operation says why; the page loops end (each operation
// gets the same page twice and then a non-retryable error, so a loop that does not stop is bounded here);
// an error answer is never ok, and a 5xx is always retryable unless the body names a non-retryable code;
// a lease read as ok has a version >= 0 and every count within 0..GrantEntry::kMaxCount (deciders sum
// them, and a negative one would hand out slots that do not exist).
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "rcc/dynamo_store.h"

namespace {

using rcc::fuzz::require;

// A store whose every answer is `body` with HTTP `status` (twice, so one page can follow another).
struct ScriptedStore {
  ScriptedStore(std::string_view body, int status) : http(std::make_shared<rcc::fuzz::ScriptedHttpClient>()) {
    http->answers = {rcc::fuzz::http_response(status, std::string(body)),
                     rcc::fuzz::http_response(status, std::string(body))};
  }
  std::shared_ptr<rcc::fuzz::ScriptedHttpClient> http;
  rcc::VirtualEnv env{1700000000000};
  rcc::DynamoStore store{rcc::fuzz::scripted_aws_client(http, "dynamodb", env),
                         rcc::DynamoStoreOptions{"fuzz-table", 0}};
};

template <typename T>
void check(const rcc::Result<T>& result) {
  if (!result.ok()) rcc::fuzz::require_explained(result.status());
}
void check(const rcc::Status& status) {
  if (!status.ok()) rcc::fuzz::require_explained(status);
}

void run_store_operations(std::string_view body) {
  const std::string id = "i-0123456789abcdef0";
  { ScriptedStore s(body, 200); check(s.store.get(id)); }
  { ScriptedStore s(body, 200); check(s.store.count_active("prod#Org#acme")); }
  { ScriptedStore s(body, 200); check(s.store.list_active("")); }
  { ScriptedStore s(body, 200); check(s.store.list_active("prod#")); }
  { ScriptedStore s(body, 200); check(s.store.list_items()); }
  { ScriptedStore s(body, 200); check(s.store.get_meta()); }
  { ScriptedStore s(body, 200); check(s.store.stamp_heartbeat(1700000000000, std::vector<std::string>{"prod"})); }
  {
    ScriptedStore s(body, 200);
    rcc::ReconcileReport report;
    report.started_ms = 1700000000000;
    report.finished_ms = 1700000001000;
    check(s.store.record_reconcile(report));
  }
  {
    ScriptedStore s(body, 200);
    rcc::Transition t;
    t.instance_id = id;
    t.state = rcc::InstanceState::kRunning;
    t.order = rcc::event_order(1700000000, t.state);
    t.updated_ms = 1700000000000;
    t.identity.runner = true;
    t.identity.tagged = rcc::RunnerKey{"prod", "Org", "acme"};
    check(s.store.apply(t));
  }
  {
    ScriptedStore s(body, 200);
    auto lease = s.store.get_lease("prod#Org#acme");
    check(lease);
    if (lease.ok()) {
      require(lease->version >= 0, "a lease read as ok has a version >= 0");
      for (const auto& [holder, entry] : lease->grants) {
        require(rcc::GrantEntry::count_in_range(entry.count),
                "a lease read as ok has every count within 0..kMaxCount");
      }
    }
  }
  {
    ScriptedStore s(body, 200);
    check(s.store.grant_slots("prod#Org#acme", 0, "holder-a", {2, 1700000030000}, {}, 1700086400));
  }
  {
    ScriptedStore s(body, 200);
    check(s.store.grant_slots("prod#Org#acme", 3, "holder-a", {2, 1700000030000}, {"holder-b"}, 1700086400));
  }
  {
    ScriptedStore s(body, 200);
    check(s.store.settle_grant("prod#Org#acme", "holder-a", rcc::GrantEntry{1, 1700000003000}));
  }
  { ScriptedStore s(body, 200); check(s.store.settle_grant("prod#Org#acme", "holder-a", std::nullopt)); }
}

void run_error_parser(std::string_view body) {
  for (int status : {400, 403, 429, 500, 503}) {
    const rcc::ServiceError error = rcc::parse_dynamodb_error(rcc::fuzz::http_response(status, std::string(body)));
    require(!error.status.ok(), "an error answer is never ok");
    require(error.http_status == status, "the error keeps its HTTP status");
    if (status >= 500 && error.code.empty()) require(error.status.retryable(), "a 5xx without a code is retryable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = rcc::fuzz::as_text(data, size);
  run_store_operations(body);
  run_error_parser(body);
  return 0;
}
