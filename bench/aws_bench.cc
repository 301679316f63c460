// AWS wire layer figures: SigV4 signatures per second, and DynamoDB requests per second against dynalite
// through BeastHttpClient with one keep-alive connection and with a new connection per request.
//
//   build-aws/bench/aws_bench [--benchmark_min_time=2]
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>

#include <benchmark/benchmark.h>

#include "testing/dynalite.h"
#include "rcc/dynamo_store.h"
#include "rcc/http_client.h"
#include "aws/sigv4.h"

namespace rcc {
namespace {

void BM_SigV4SignUpdateItem(benchmark::State& state) {
  const AwsCredentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"};
  const HttpRequest base{"POST",
                         "https://dynamodb.us-east-1.amazonaws.com/",
                         {{"X-Amz-Target", "DynamoDB_20120810.UpdateItem"},
                          {"Content-Type", "application/x-amz-json-1.0"}},
                         std::string(600, 'x')};
  const SigningParams params{"us-east-1", "dynamodb", std::chrono::system_clock::now()};
  for (auto _ : state) {
    HttpRequest request = base;
    auto parts = sign_request(request, credentials, params);
    benchmark::DoNotOptimize(parts);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SigV4SignUpdateItem);

// One table on one dynalite for every DynamoDB benchmark, with one running runner in it.
struct DynaliteTable {
  testing::Dynalite* dynalite = nullptr;
  std::string table;
  std::string error;

  static DynaliteTable& get() {
    static DynaliteTable instance = [] {
      DynaliteTable t;
      auto d = testing::Dynalite::shared();
      if (!d.ok()) {
        t.error = d.status().to_string();
        return t;
      }
      t.dynalite = *d;
      t.table = testing::unique_table_name("bench");
      AwsClient client = t.dynalite->client();
      Status s = testing::create_runner_table(client, t.table);
      if (!s.ok()) t.error = s.to_string();
      DynamoStore store(t.dynalite->client(), {t.table, 0});
      auto applied = store.apply(make_transition(WriteMode::kUpsert, "i-0123456789abcdef0", InstanceState::kRunning,
                                                 100, 1000, 60,
                                                 InstanceIdentity{true, RunnerKey{"prod", "Org", "acme"}}));
      if (!applied.ok()) t.error = applied.status().to_string();
      return t;
    }();
    return instance;
  }
};

DynamoStore make_store(bool keep_alive) {
  DynaliteTable& t = DynaliteTable::get();
  BeastHttpClientOptions options;
  options.keep_alive = keep_alive;
  return DynamoStore(AwsClient(std::make_shared<BeastHttpClient>(options), t.dynalite->endpoint(), "dynamodb",
                               "us-east-1", AwsCredentials{"fake", "fake", ""}),
                     {t.table, 0});
}

// Runs `request` (true on the expected answer) once per iteration on a fresh store, reporting the requests
// sent and bytes received; stops with `what` when an answer is not the expected one.
void run_requests(benchmark::State& state, bool keep_alive, const char* what,
                  const std::function<bool(DynamoStore&)>& request) {
  DynaliteTable& t = DynaliteTable::get();
  if (!t.error.empty()) {
    state.SkipWithError(t.error.c_str());
    return;
  }
  DynamoStore store = make_store(keep_alive);
  for (auto _ : state) {
    if (!request(store)) {
      state.SkipWithError(what);
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["requests"] = static_cast<double>(store.stats().requests_sent);
  state.counters["bytes_received"] = static_cast<double>(store.stats().bytes_received);
}

void run_get_item(benchmark::State& state, bool keep_alive) {
  run_requests(state, keep_alive, "GetItem failed", [](DynamoStore& store) {
    auto item = store.get("i-0123456789abcdef0");
    return item.ok() && item->has_value();
  });
}

void run_count(benchmark::State& state, bool keep_alive) {
  run_requests(state, keep_alive, "count_active failed", [](DynamoStore& store) {
    auto n = store.count_active("prod#Org#acme");
    return n.ok() && *n == 1;
  });
}

void run_duplicate_write(benchmark::State& state, bool keep_alive) {
  // An old observation: the conditional write is refused every time (the duplicate-event path).
  const Transition stale = make_transition(WriteMode::kKnownRunner, "i-0123456789abcdef0", InstanceState::kPending, 50,
                                           1000, 60);
  run_requests(state, keep_alive, "UpdateItem failed", [&stale](DynamoStore& store) {
    auto outcome = store.apply(stale);
    return outcome.ok() && *outcome == WriteOutcome::kSuperseded;
  });
}

void BM_DynamoGetItem_KeepAlive(benchmark::State& state) { run_get_item(state, true); }
void BM_DynamoGetItem_NewConnection(benchmark::State& state) { run_get_item(state, false); }
void BM_DynamoCountActive_KeepAlive(benchmark::State& state) { run_count(state, true); }
void BM_DynamoCountActive_NewConnection(benchmark::State& state) { run_count(state, false); }
void BM_DynamoConditionalWrite_KeepAlive(benchmark::State& state) { run_duplicate_write(state, true); }
void BM_DynamoConditionalWrite_NewConnection(benchmark::State& state) { run_duplicate_write(state, false); }
BENCHMARK(BM_DynamoGetItem_KeepAlive)->UseRealTime();
BENCHMARK(BM_DynamoGetItem_NewConnection)->UseRealTime();
BENCHMARK(BM_DynamoCountActive_KeepAlive)->UseRealTime();
BENCHMARK(BM_DynamoCountActive_NewConnection)->UseRealTime();
BENCHMARK(BM_DynamoConditionalWrite_KeepAlive)->UseRealTime();
BENCHMARK(BM_DynamoConditionalWrite_NewConnection)->UseRealTime();

}  // namespace
}  // namespace rcc

BENCHMARK_MAIN();
