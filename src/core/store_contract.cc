#include "core/store_contract.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace rcc {
namespace {

const std::vector<std::string> kProdOnly = {"prod"};

constexpr std::int64_t kNowMs = 1'700'000'000'000;
constexpr std::int64_t kTtlSeconds = 86400;

InstanceIdentity runner(std::string owner, std::string type = "Org") {
  return InstanceIdentity{true, RunnerKey{"prod", std::move(type), std::move(owner)}};
}

InstanceIdentity non_runner() { return InstanceIdentity{false, RunnerKey{"", "", ""}}; }

Transition upsert(const std::string& id, InstanceState state, std::int64_t time_s, InstanceIdentity identity) {
  return make_transition(WriteMode::kUpsert, id, state, time_s, kNowMs, kTtlSeconds, std::move(identity));
}

Transition known(WriteMode mode, const std::string& id, InstanceState state, std::int64_t time_s) {
  return make_transition(mode, id, state, time_s, kNowMs, kTtlSeconds);
}

// The outcome of a write that must not fail (a failure is recorded and reads as kSuperseded); `key`, when
// given, receives the item's key.
WriteOutcome must_apply(Store& store, const Transition& t, std::string* key = nullptr) {
  auto outcome = store.apply(t, key);
  EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
  return outcome.ok() ? *outcome : WriteOutcome::kSuperseded;
}

// The meta item, which must exist; a failed read or a missing item is recorded and reads as an empty one.
MetaItem meta_of(Store& store) {
  auto meta = store.get_meta();
  EXPECT_TRUE(meta.ok() && meta->has_value()) << (meta.ok() ? "no meta item" : meta.status().to_string());
  return meta.ok() && meta->has_value() ? **meta : MetaItem{};
}

std::int64_t count(Store& store, const std::string& key) {
  auto n = store.count_active(key);
  EXPECT_TRUE(n.ok()) << n.status().to_string();
  return n.ok() ? *n : -1;
}

std::optional<InstanceItem> item(Store& store, const std::string& id) {
  auto got = store.get(id);
  EXPECT_TRUE(got.ok()) << got.status().to_string();
  return got.ok() ? *got : std::nullopt;
}

// A field of item `id`, or nullopt when the item is missing (compared, never dereferenced).
template <typename Field>
auto field_of(Store& store, const std::string& id, Field field) -> std::optional<std::decay_t<decltype(field(InstanceItem{}))>> {
  const std::optional<InstanceItem> got = item(store, id);
  if (!got) return std::nullopt;
  return field(*got);
}

TEST_P(StoreContract, UpsertCreatesActiveRunnerWithKeyAndNoTtl) {
  EXPECT_EQ(must_apply(store(), upsert("i-0000000000000000a", InstanceState::kPending, 100, runner("acme"))),
            WriteOutcome::kApplied);
  const auto got = item(store(), "i-0000000000000000a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, InstanceState::kPending);
  EXPECT_EQ(got->order, event_order(100, InstanceState::kPending));
  EXPECT_TRUE(got->identity.runner);
  EXPECT_EQ(got->identity.tagged, (RunnerKey{"prod", "Org", "acme"}));
  EXPECT_EQ(got->active_key, std::optional<std::string>("prod#Org#acme"));
  EXPECT_EQ(got->ttl_s, std::nullopt);
  EXPECT_EQ(got->updated_ms, kNowMs);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
}

TEST_P(StoreContract, MissingItemReadsAsNone) {
  EXPECT_EQ(item(store(), "i-0000000000000000b"), std::nullopt);
  EXPECT_EQ(count(store(), "prod#Org#nobody"), 0);
}

TEST_P(StoreContract, KnownModesDoNotCreateItems) {
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, "i-0000000000000000c", InstanceState::kRunning, 5)),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(
      must_apply(store(), known(WriteMode::kKnownNonRunner, "i-0000000000000000c", InstanceState::kRunning, 5)),
      WriteOutcome::kSuperseded);
  EXPECT_EQ(item(store(), "i-0000000000000000c"), std::nullopt);
}

TEST_P(StoreContract, KnownRunnerWriteMovesForwardOnlyAndKeepsKey) {
  const std::string id = "i-0000000000000000d";
  must_apply(store(), upsert(id, InstanceState::kPending, 100, runner("acme")));
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kRunning, 101)),
            WriteOutcome::kApplied);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
  // Same observation again, and an older one: no-ops.
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kRunning, 101)),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kPending, 100)),
            WriteOutcome::kSuperseded);
  // A later stop removes it from the index and gives it a TTL.
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kStopped, 200)),
            WriteOutcome::kApplied);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 0);
  auto got = item(store(), id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->active_key, std::nullopt);
  EXPECT_EQ(got->ttl_s, std::optional<std::int64_t>(kNowMs / 1000 + kTtlSeconds));
  EXPECT_EQ(got->identity.tagged, (RunnerKey{"prod", "Org", "acme"}));
  // Started again later: active again under the same key, TTL gone.
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kPending, 300)),
            WriteOutcome::kApplied);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
  got = item(store(), id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ttl_s, std::nullopt);
}

// The key a write leaves on the item is reported by the write itself, on every mode that applies.
TEST_P(StoreContract, AnAppliedWriteReportsTheItemsKey) {
  const std::string id = "i-00000000000000024", other = "i-00000000000000025";
  std::string key = "unset";
  EXPECT_EQ(must_apply(store(), upsert(id, InstanceState::kPending, 100, runner("acme")), &key),
            WriteOutcome::kApplied);
  EXPECT_EQ(key, "prod#Org#acme");
  key = "unset";
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kRunning, 101), &key),
            WriteOutcome::kApplied);
  EXPECT_EQ(key, "prod#Org#acme") << "the known-runner write does not carry the key; the store's answer does";
  key = "unset";
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kTerminated, 102), &key),
            WriteOutcome::kApplied);
  EXPECT_EQ(key, "prod#Org#acme") << "an inactive runner keeps its key";
  key = "unset";
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kTerminated, 103), &key),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(key, "unset") << "a write that did not apply reports nothing";
  EXPECT_EQ(must_apply(store(), upsert(other, InstanceState::kRunning, 100, non_runner()), &key),
            WriteOutcome::kApplied);
  EXPECT_EQ(key, "");
}

TEST_P(StoreContract, TerminatedIsFinal) {
  const std::string id = "i-0000000000000000e";
  must_apply(store(), upsert(id, InstanceState::kTerminated, 100, runner("acme")));
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kPending, 500)),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(must_apply(store(), upsert(id, InstanceState::kRunning, 600, runner("acme"))),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 0);
  EXPECT_EQ(field_of(store(), id, [](const InstanceItem& i) { return i.state; }), InstanceState::kTerminated);
}

// An order beyond the clock skew bound cannot come from an honest observation (Transition::order_bound):
// such an item is overwritten by any honest write but a registration, whatever its state.
TEST_P(StoreContract, AnOrderBeyondTheClockSkewBoundIsOverwritten) {
  const std::int64_t now_s = kNowMs / 1000;
  const std::int64_t year_2100_s = 4'102'444'800;
  const std::string live = "i-00000000000000020", dead = "i-00000000000000021", near = "i-00000000000000022",
                    other = "i-00000000000000023";
  must_apply(store(), upsert(live, InstanceState::kRunning, year_2100_s, runner("acme")));
  must_apply(store(), upsert(dead, InstanceState::kTerminated, year_2100_s, runner("acme")));
  must_apply(store(), upsert(near, InstanceState::kRunning, now_s + 240, runner("acme")));
  must_apply(store(), upsert(other, InstanceState::kRunning, year_2100_s, non_runner()));
  ASSERT_EQ(count(store(), "prod#Org#acme"), 2);

  EXPECT_EQ(must_apply(store(), make_transition(WriteMode::kCreateOnly, live, InstanceState::kPending, now_s, kNowMs,
                                                kTtlSeconds, runner("acme"))),
            WriteOutcome::kSuperseded)
      << "a registration never overrides an existing item";
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, live, InstanceState::kTerminated, now_s)),
            WriteOutcome::kApplied);
  EXPECT_EQ(must_apply(store(), upsert(dead, InstanceState::kRunning, now_s, runner("acme"))), WriteOutcome::kApplied)
      << "a terminated item dated 2100 is no proof of termination";
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, near, InstanceState::kTerminated, now_s)),
            WriteOutcome::kSuperseded)
      << "within the skew bound the order rule holds";
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownNonRunner, other, InstanceState::kTerminated, now_s)),
            WriteOutcome::kApplied);

  EXPECT_EQ(field_of(store(), live, [](const InstanceItem& i) { return i.state; }), InstanceState::kTerminated);
  EXPECT_EQ(field_of(store(), dead, [](const InstanceItem& i) { return i.order; }),
            event_order(now_s, InstanceState::kRunning));
  EXPECT_EQ(count(store(), "prod#Org#acme"), 2) << "dead is active again, live is gone, near is unchanged";

  // With the bound turned off the plain order rule applies.
  Transition plain = known(WriteMode::kKnownRunner, dead, InstanceState::kTerminated, now_s + 1);
  must_apply(store(), upsert(dead, InstanceState::kRunning, year_2100_s, runner("acme")));
  plain.order_bound = 0;
  EXPECT_EQ(must_apply(store(), plain), WriteOutcome::kSuperseded);
}

TEST_P(StoreContract, RankOrdersObservationsInTheSameSecond) {
  const std::string id = "i-0000000000000000f";
  must_apply(store(), upsert(id, InstanceState::kRunning, 100, runner("acme")));
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kPending, 100)),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kShuttingDown, 100)),
            WriteOutcome::kApplied);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 0);
}

TEST_P(StoreContract, NonRunnerIsNeverIndexedAndAlwaysHasTtl) {
  const std::string id = "i-00000000000000010";
  must_apply(store(), upsert(id, InstanceState::kRunning, 100, non_runner()));
  auto got = item(store(), id);
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->identity.runner);
  EXPECT_EQ(got->active_key, std::nullopt);
  EXPECT_TRUE(got->ttl_s.has_value());
  auto all = store().list_active("");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  // Known-runner writes do not touch it; known-non-runner writes do.
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kStopped, 200)),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownNonRunner, id, InstanceState::kStopped, 200)),
            WriteOutcome::kApplied);
  EXPECT_EQ(field_of(store(), id, [](const InstanceItem& i) { return i.state; }), InstanceState::kStopped);
}

TEST_P(StoreContract, KnownNonRunnerWriteSkipsRunners) {
  const std::string id = "i-00000000000000011";
  must_apply(store(), upsert(id, InstanceState::kRunning, 100, runner("acme")));
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownNonRunner, id, InstanceState::kStopped, 200)),
            WriteOutcome::kSuperseded);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
}

TEST_P(StoreContract, NonRunnerTaggedFieldsAreKept) {
  const std::string id = "i-00000000000000012";
  InstanceIdentity other_env{false, RunnerKey{"staging", "Repo", "acme/app"}};
  must_apply(store(), upsert(id, InstanceState::kRunning, 100, other_env));
  EXPECT_EQ(field_of(store(), id, [](const InstanceItem& i) { return i.identity; }), other_env);
}

TEST_P(StoreContract, CountsAndListsByKey) {
  for (int i = 0; i < 7; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "i-%017x", 0x100 + i);
    must_apply(store(), upsert(id, InstanceState::kRunning, 100, runner(i < 4 ? "acme" : "acme/app",
                                                                       i < 4 ? "Org" : "Repo")));
  }
  must_apply(store(), upsert("i-000000000000000ff", InstanceState::kRunning, 100,
                             InstanceIdentity{true, RunnerKey{"staging", "Org", "acme"}}));
  EXPECT_EQ(count(store(), "prod#Org#acme"), 4);
  EXPECT_EQ(count(store(), "prod#Repo#acme/app"), 3);
  EXPECT_EQ(count(store(), "staging#Org#acme"), 1);
  EXPECT_EQ(count(store(), "prod#Org#acm"), 0);

  auto prod = store().list_active("prod#");
  ASSERT_TRUE(prod.ok()) << prod.status().to_string();
  EXPECT_EQ(prod->size(), 7u);
  for (const auto& entry : *prod) EXPECT_TRUE(entry.active_key.starts_with("prod#")) << entry.active_key;
  auto all = store().list_active("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 8u);

  auto items = store().list_items();
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  EXPECT_EQ(items->size(), 8u);
}

TEST_P(StoreContract, EscapedKeysStayDistinct) {
  must_apply(store(), upsert("i-00000000000000020", InstanceState::kRunning, 100,
                             InstanceIdentity{true, RunnerKey{"a#b", "Org", "c"}}));
  must_apply(store(), upsert("i-00000000000000021", InstanceState::kRunning, 100,
                             InstanceIdentity{true, RunnerKey{"a", "Org", "b#c"}}));
  EXPECT_EQ(count(store(), RunnerKey{"a#b", "Org", "c"}.str()), 1);
  EXPECT_EQ(count(store(), RunnerKey{"a", "Org", "b#c"}.str()), 1);
}

TEST_P(StoreContract, MetaItemHeartbeatMovesForwardOnly) {
  auto meta = store().get_meta();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, std::nullopt);
  ASSERT_TRUE(store().stamp_heartbeat(2000, kProdOnly).ok());
  ASSERT_TRUE(store().stamp_heartbeat(1000, kProdOnly).ok());
  meta = store().get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->heartbeat_ms, std::optional<std::int64_t>(2000));
  EXPECT_EQ((*meta)->reconciled_ms, std::nullopt);
  ASSERT_TRUE(store().stamp_heartbeat(3000, kProdOnly).ok());
  EXPECT_EQ(meta_of(store()).heartbeat_ms, std::optional<std::int64_t>(3000));
}

TEST_P(StoreContract, HeartbeatRecordsTheEnvironmentsCountedWithIt) {
  const std::vector<std::string> two = {"staging", "prod"};
  ASSERT_TRUE(store().stamp_heartbeat(2000, two).ok());
  auto meta = store().get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->environments, (std::vector<std::string>{"prod", "staging"}));  // sorted: a set
  // An older stamp writes nothing: the environments stay those of the newest heartbeat.
  ASSERT_TRUE(store().stamp_heartbeat(1000, kProdOnly).ok());
  EXPECT_EQ(meta_of(store()).environments, (std::vector<std::string>{"prod", "staging"}));
  ASSERT_TRUE(store().stamp_heartbeat(3000, kProdOnly).ok());
  EXPECT_EQ(meta_of(store()).environments, kProdOnly);
  // A record of a reconcile keeps them.
  ReconcileReport report;
  report.finished_ms = 3500;
  ASSERT_TRUE(store().record_reconcile(report).ok());
  EXPECT_EQ(meta_of(store()).environments, kProdOnly);
  const Status empty = store().stamp_heartbeat(4000, std::vector<std::string>{});
  EXPECT_EQ(empty.code(), Code::kInvalidArgument);
  EXPECT_EQ(meta_of(store()).heartbeat_ms, std::optional<std::int64_t>(3000));
}

// Regression: a stamp written by a clock a day ahead could never be lowered, and a reader took it as fresh.
TEST_P(StoreContract, MetaStampsFromAClockFarAheadAreReplaced) {
  const std::int64_t day_ms = 86'400'000;
  ASSERT_TRUE(store().stamp_heartbeat(kNowMs + day_ms, kProdOnly).ok());
  ASSERT_TRUE(store().stamp_heartbeat(kNowMs, kProdOnly).ok());
  EXPECT_EQ(meta_of(store()).heartbeat_ms, std::optional<std::int64_t>(kNowMs));
  // Within the skew bound the stamp still never moves backward.
  ASSERT_TRUE(store().stamp_heartbeat(kNowMs + 60'000, kProdOnly).ok());
  ASSERT_TRUE(store().stamp_heartbeat(kNowMs + 1'000, kProdOnly).ok());
  EXPECT_EQ(meta_of(store()).heartbeat_ms, std::optional<std::int64_t>(kNowMs + 60'000));

  ReconcileReport ahead;
  ahead.started_ms = kNowMs + day_ms - 5'000;
  ahead.finished_ms = kNowMs + day_ms;
  ahead.added = 9;
  ReconcileReport honest;
  honest.started_ms = kNowMs - 5'000;
  honest.finished_ms = kNowMs;
  honest.removed = 1;
  ASSERT_TRUE(store().record_reconcile(ahead).ok());
  ASSERT_TRUE(store().record_reconcile(honest).ok());
  auto meta = store().get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->reconciled_ms, std::optional<std::int64_t>(kNowMs));
  EXPECT_EQ((*meta)->last_reconcile, std::optional<ReconcileReport>(honest));
}

TEST_P(StoreContract, MetaItemRecordsReconcile) {
  ReconcileReport report;
  report.started_ms = 10'000;
  report.finished_ms = 12'500;
  report.ec2_active = 40;
  report.table_active = 38;
  report.added = 3;
  report.removed = 1;
  report.left_for_grace = 2;
  report.ec2_calls = 2;
  ASSERT_TRUE(store().stamp_heartbeat(9000, kProdOnly).ok());
  ASSERT_TRUE(store().record_reconcile(report).ok());
  auto meta = store().get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->reconciled_ms, std::optional<std::int64_t>(12'500));
  EXPECT_EQ((*meta)->heartbeat_ms, std::optional<std::int64_t>(9000));
  EXPECT_EQ((*meta)->last_reconcile, std::optional<ReconcileReport>(report));
  // The meta item is not an instance.
  auto items = store().list_items();
  ASSERT_TRUE(items.ok());
  EXPECT_TRUE(items->empty());
}

// Regression: record_reconcile was an unconditional write, so a slow reconcile finishing after a newer
// one moved reconciled_ms backward (and overwrote the newer figures).
TEST_P(StoreContract, MetaItemReconcileNeverMovesBackward) {
  ReconcileReport newer;
  newer.started_ms = 20'000;
  newer.finished_ms = 25'000;
  newer.added = 7;
  ReconcileReport older;
  older.started_ms = 10'000;
  older.finished_ms = 24'000;
  older.removed = 5;
  ASSERT_TRUE(store().record_reconcile(newer).ok());
  const Status late = store().record_reconcile(older);
  EXPECT_TRUE(late.ok()) << late.to_string();
  auto meta = store().get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->reconciled_ms, std::optional<std::int64_t>(25'000));
  EXPECT_EQ((*meta)->last_reconcile, std::optional<ReconcileReport>(newer));

  ReconcileReport latest;
  latest.started_ms = 26'000;
  latest.finished_ms = 30'000;
  latest.ec2_active = 3;
  ASSERT_TRUE(store().record_reconcile(latest).ok());
  meta = store().get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->reconciled_ms, std::optional<std::int64_t>(30'000));
  EXPECT_EQ((*meta)->last_reconcile, std::optional<ReconcileReport>(latest));
}

// ---- Launch registration: the create-only write ----

Transition registration(const std::string& id, std::int64_t launch_s, InstanceIdentity identity) {
  return make_transition(WriteMode::kCreateOnly, id, InstanceState::kPending, launch_s, kNowMs, kTtlSeconds,
                         std::move(identity));
}

TEST_P(StoreContract, CreateOnlyCreatesAnActivePendingRunner) {
  const std::string id = "i-00000000000000030";
  EXPECT_EQ(must_apply(store(), registration(id, 100, runner("acme"))), WriteOutcome::kApplied);
  const auto got = item(store(), id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, InstanceState::kPending);
  EXPECT_EQ(got->order, event_order(100, InstanceState::kPending));
  EXPECT_EQ(got->identity, runner("acme"));
  EXPECT_EQ(got->active_key, std::optional<std::string>("prod#Org#acme"));
  EXPECT_EQ(got->ttl_s, std::nullopt);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
  // Registered twice (a retried registration): the second is superseded, the count stays.
  EXPECT_EQ(must_apply(store(), registration(id, 100, runner("acme"))), WriteOutcome::kSuperseded);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
  // The counter's known-runner write applies on top of it, as on any runner item.
  EXPECT_EQ(must_apply(store(), known(WriteMode::kKnownRunner, id, InstanceState::kRunning, 101)),
            WriteOutcome::kApplied);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
}

TEST_P(StoreContract, CreateOnlyNeverOverridesAnExistingItem) {
  struct Case {
    std::string id;
    Transition first;
  };
  const std::vector<Case> cases = {
      {"i-00000000000000031", upsert("i-00000000000000031", InstanceState::kTerminated, 90, runner("acme"))},
      {"i-00000000000000032", upsert("i-00000000000000032", InstanceState::kStopped, 90, runner("acme"))},
      {"i-00000000000000033", upsert("i-00000000000000033", InstanceState::kRunning, 90, non_runner())},
      {"i-00000000000000034", upsert("i-00000000000000034", InstanceState::kRunning, 90, runner("other"))},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id);
    ASSERT_EQ(must_apply(store(), c.first), WriteOutcome::kApplied);
    const auto before = item(store(), c.id);
    // Even a registration at a later second than what the item holds changes nothing.
    EXPECT_EQ(must_apply(store(), registration(c.id, 200, runner("acme"))), WriteOutcome::kSuperseded);
    EXPECT_EQ(item(store(), c.id), before);
  }
  EXPECT_EQ(count(store(), "prod#Org#acme"), 0);
  EXPECT_EQ(count(store(), "prod#Org#other"), 1);
}

// ---- Unresolved items (LOOKUP_UNREGISTERED=false) ----

Transition unresolved_record(const std::string& id, InstanceState state, std::int64_t time_s) {
  InstanceIdentity identity;
  identity.unresolved = true;
  return make_transition(WriteMode::kCreateUnresolved, id, state, time_s, kNowMs, kTtlSeconds, identity);
}

TEST_P(StoreContract, CreateUnresolvedWritesAnUncountedItemOnlyWhereNoneExists) {
  const std::string id = "i-00000000000000040";
  EXPECT_EQ(must_apply(store(), unresolved_record(id, InstanceState::kRunning, 100)), WriteOutcome::kApplied);
  auto got = item(store(), id);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->identity.unresolved);
  EXPECT_FALSE(got->identity.runner);
  EXPECT_EQ(got->state, InstanceState::kRunning);
  EXPECT_EQ(got->active_key, std::nullopt);
  EXPECT_EQ(got->ttl_s, std::optional<std::int64_t>(kNowMs / 1000 + kTtlSeconds));
  // Never over an existing item, even with a newer observation.
  EXPECT_EQ(must_apply(store(), unresolved_record(id, InstanceState::kShuttingDown, 200)), WriteOutcome::kSuperseded);
  const std::string registered = "i-00000000000000041";
  ASSERT_EQ(must_apply(store(), registration(registered, 100, runner("acme"))), WriteOutcome::kApplied);
  EXPECT_EQ(must_apply(store(), unresolved_record(registered, InstanceState::kRunning, 110)), WriteOutcome::kSuperseded);
  EXPECT_TRUE(item(store(), registered)->identity.runner);
  // The known non-runner write refreshes an unresolved item and keeps it unresolved.
  EXPECT_EQ(must_apply(store(), make_transition(WriteMode::kKnownNonRunner, id, InstanceState::kStopping, 150, kNowMs,
                                                kTtlSeconds)),
            WriteOutcome::kApplied);
  got = item(store(), id);
  EXPECT_TRUE(got->identity.unresolved);
  EXPECT_EQ(got->state, InstanceState::kStopping);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
}

TEST_P(StoreContract, CreateOnlyClaimsAnActiveUnresolvedItemAndKeepsItsObservation) {
  for (const InstanceState state : {InstanceState::kPending, InstanceState::kRunning}) {
    const std::string id = state == InstanceState::kPending ? "i-00000000000000042" : "i-00000000000000043";
    SCOPED_TRACE(id);
    ASSERT_EQ(must_apply(store(), unresolved_record(id, state, 120)), WriteOutcome::kApplied);
    EXPECT_EQ(must_apply(store(), registration(id, 100, runner("acme"))), WriteOutcome::kApplied);
    const auto got = item(store(), id);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->identity, runner("acme"));
    EXPECT_EQ(got->state, state);
    EXPECT_EQ(got->order, event_order(120, state)) << "the counter's observation is kept";
    EXPECT_EQ(got->active_key, std::optional<std::string>("prod#Org#acme"));
    EXPECT_EQ(got->ttl_s, std::nullopt);
    // Claimed once: a retried registration changes nothing.
    EXPECT_EQ(must_apply(store(), registration(id, 100, runner("acme"))), WriteOutcome::kSuperseded);
  }
  EXPECT_EQ(count(store(), "prod#Org#acme"), 2);
}

TEST_P(StoreContract, CreateOnlyLeavesAnUnresolvedItemThatIsNotActive) {
  const std::vector<InstanceState> states = {InstanceState::kStopping, InstanceState::kStopped,
                                             InstanceState::kShuttingDown, InstanceState::kTerminated};
  for (std::size_t i = 0; i < states.size(); ++i) {
    const std::string id = "i-0000000000000005" + std::to_string(i);
    SCOPED_TRACE(id);
    ASSERT_EQ(must_apply(store(), unresolved_record(id, states[i], 120)), WriteOutcome::kApplied);
    const auto before = item(store(), id);
    EXPECT_EQ(must_apply(store(), registration(id, 100, runner("acme"))), WriteOutcome::kSuperseded);
    EXPECT_EQ(item(store(), id), before);
  }
  EXPECT_EQ(count(store(), "prod#Org#acme"), 0);
}

TEST_P(StoreContract, AnUpsertResolvesAnUnresolvedItem) {
  const std::string id = "i-00000000000000060";
  ASSERT_EQ(must_apply(store(), unresolved_record(id, InstanceState::kRunning, 100)), WriteOutcome::kApplied);
  EXPECT_EQ(must_apply(store(), upsert(id, InstanceState::kRunning, 130, runner("acme"))), WriteOutcome::kApplied);
  const auto got = item(store(), id);
  EXPECT_FALSE(got->identity.unresolved);
  EXPECT_EQ(got->identity, runner("acme"));
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
}

// ---- Slot leases ----

constexpr std::string_view kLeaseKey = "prod#Org#acme";

WriteOutcome grant(Store& store, std::int64_t expected_version, std::string_view holder, GrantEntry entry,
                   std::vector<std::string> removals = {}, std::string_view key = kLeaseKey) {
  auto granted = store.grant_slots(key, expected_version, holder, entry, removals, entry.until_ms / 1000 + kTtlSeconds);
  EXPECT_TRUE(granted.ok()) << granted.status().to_string();
  return granted.ok() ? *granted : WriteOutcome::kSuperseded;
}

WriteOutcome settle(Store& store, std::string_view holder, std::optional<GrantEntry> entry) {
  auto settled = store.settle_grant(kLeaseKey, holder, entry);
  EXPECT_TRUE(settled.ok()) << settled.status().to_string();
  return settled.ok() ? *settled : WriteOutcome::kApplied;
}

SlotLease lease_of(Store& store, std::string_view key = kLeaseKey) {
  auto got = store.get_lease(key);
  EXPECT_TRUE(got.ok()) << got.status().to_string();
  return got.ok() ? *got : SlotLease{-1, {}};
}

using Grants = std::map<std::string, GrantEntry, std::less<>>;

TEST_P(StoreContract, GrantsAreMadeOnTheVersionTheyWereDecidedOn) {
  EXPECT_EQ(lease_of(store()), (SlotLease{0, {}}));
  // The first grant creates the lease at version 1.
  EXPECT_EQ(grant(store(), 0, "holder-a", {3, 31000}), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{1, Grants{{"holder-a", {3, 31000}}}}));
  // A second decision that also read version 0 lost the race: nothing written.
  EXPECT_EQ(grant(store(), 0, "holder-b", {2, 32000}), WriteOutcome::kSuperseded);
  EXPECT_EQ(lease_of(store()), (SlotLease{1, Grants{{"holder-a", {3, 31000}}}}));
  // Decided again on version 1, it is granted and moves the version to 2.
  EXPECT_EQ(grant(store(), 1, "holder-b", {2, 32000}), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{2, Grants{{"holder-a", {3, 31000}}, {"holder-b", {2, 32000}}}}));
  // A stale version, older or newer, is refused.
  EXPECT_EQ(grant(store(), 1, "holder-c", {1, 33000}), WriteOutcome::kSuperseded);
  EXPECT_EQ(grant(store(), 3, "holder-c", {1, 33000}), WriteOutcome::kSuperseded);
  // A holder's new grant replaces its entry.
  EXPECT_EQ(grant(store(), 2, "holder-a", {5, 40000}), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{3, Grants{{"holder-a", {5, 40000}}, {"holder-b", {2, 32000}}}}));
  // Another key is independent.
  EXPECT_EQ(grant(store(), 0, "holder-c", {1, 33000}, {}, "prod#Org#other"), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store(), "prod#Org#other"), (SlotLease{1, Grants{{"holder-c", {1, 33000}}}}));
  EXPECT_EQ(lease_of(store()).version, 3);
}

TEST_P(StoreContract, GrantRemovesTheEntriesItIsGiven) {
  ASSERT_EQ(grant(store(), 0, "holder-a", {3, 1000}), WriteOutcome::kApplied);
  ASSERT_EQ(grant(store(), 1, "holder-b", {2, 2000}), WriteOutcome::kApplied);
  ASSERT_EQ(grant(store(), 2, "holder-c", {1, 90000}), WriteOutcome::kApplied);
  // Removing a holder that has no entry is no error.
  EXPECT_EQ(grant(store(), 3, "holder-d", {4, 95000}, {"holder-a", "holder-b", "holder-x"}), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{4, Grants{{"holder-c", {1, 90000}}, {"holder-d", {4, 95000}}}}));
  // A refused grant removes nothing.
  EXPECT_EQ(grant(store(), 3, "holder-e", {1, 96000}, {"holder-c"}), WriteOutcome::kSuperseded);
  EXPECT_EQ(lease_of(store()).grants.size(), 2u);
  // Holder ids are map keys through attribute names: any characters.
  EXPECT_EQ(grant(store(), 4, "a.b #c:d", {1, 97000}, {"holder-c"}), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{5, Grants{{"a.b #c:d", {1, 97000}}, {"holder-d", {4, 95000}}}}));
}

TEST_P(StoreContract, SettleReplacesOrRemovesAnExistingEntryWithoutMovingTheVersion) {
  ASSERT_EQ(grant(store(), 0, "holder-a", {3, 31000}), WriteOutcome::kApplied);
  ASSERT_EQ(grant(store(), 1, "holder-b", {2, 32000}), WriteOutcome::kApplied);
  EXPECT_EQ(settle(store(), "holder-a", GrantEntry{1, 5000}), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{2, Grants{{"holder-a", {1, 5000}}, {"holder-b", {2, 32000}}}}));
  EXPECT_EQ(settle(store(), "holder-b", std::nullopt), WriteOutcome::kApplied);
  EXPECT_EQ(lease_of(store()), (SlotLease{2, Grants{{"holder-a", {1, 5000}}}}));
  // Settled with nothing twice, or a holder never granted: no entry, nothing written.
  EXPECT_EQ(settle(store(), "holder-b", std::nullopt), WriteOutcome::kSuperseded);
  EXPECT_EQ(settle(store(), "holder-b", GrantEntry{1, 6000}), WriteOutcome::kSuperseded);
  EXPECT_EQ(settle(store(), "holder-z", GrantEntry{1, 6000}), WriteOutcome::kSuperseded);
  EXPECT_EQ(lease_of(store()), (SlotLease{2, Grants{{"holder-a", {1, 5000}}}}));
  // A grant that removed an entry makes its late settle lost.
  ASSERT_EQ(grant(store(), 2, "holder-c", {1, 40000}, {"holder-a"}), WriteOutcome::kApplied);
  EXPECT_EQ(settle(store(), "holder-a", GrantEntry{3, 41000}), WriteOutcome::kSuperseded);
  EXPECT_EQ(lease_of(store()), (SlotLease{3, Grants{{"holder-c", {1, 40000}}}}));
}

TEST_P(StoreContract, LeaseOfAKeyNeverGrantedCannotBeSettled) {
  EXPECT_EQ(settle(store(), "holder-a", GrantEntry{1, 1000}), WriteOutcome::kSuperseded);
  EXPECT_EQ(settle(store(), "holder-a", std::nullopt), WriteOutcome::kSuperseded);
  EXPECT_EQ(lease_of(store()), (SlotLease{0, {}}));
  EXPECT_EQ(store().grant_slots(kLeaseKey, 0, "", {1, 2}, {}, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store().grant_slots(kLeaseKey, -1, "a", {1, 2}, {}, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store().grant_slots(kLeaseKey, 1, "a", {1, 2}, {"a"}, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store().settle_grant(kLeaseKey, "", std::nullopt).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(lease_of(store()), (SlotLease{0, {}}));
}

// A count outside 0..kMaxCount is never written: a negative one would hand out slots that do not exist,
// and a reader refuses a lease holding one.
TEST_P(StoreContract, GrantCountsOutsideTheirRangeAreNeverWritten) {
  for (std::int64_t bad : {std::int64_t{-1}, GrantEntry::kMaxCount + 1}) {
    EXPECT_EQ(store().grant_slots(kLeaseKey, 0, "holder-a", {bad, 31000}, {}, 3).status().code(),
              Code::kInvalidArgument) << bad;
  }
  ASSERT_EQ(grant(store(), 0, "holder-a", {GrantEntry::kMaxCount, 31000}), WriteOutcome::kApplied);
  for (std::int64_t bad : {std::int64_t{-1}, GrantEntry::kMaxCount + 1}) {
    EXPECT_EQ(store().settle_grant(kLeaseKey, "holder-a", GrantEntry{bad, 12000}).status().code(),
              Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(lease_of(store()), (SlotLease{1, Grants{{"holder-a", {GrantEntry::kMaxCount, 31000}}}}));
}

TEST_P(StoreContract, LeasesAreInvisibleToCountsListingsAndTheMetaItem) {
  must_apply(store(), upsert("i-00000000000000040", InstanceState::kRunning, 100, runner("acme")));
  ASSERT_EQ(grant(store(), 0, "holder-a", {3, 31000}), WriteOutcome::kApplied);
  ASSERT_EQ(settle(store(), "holder-a", GrantEntry{3, 12000}), WriteOutcome::kApplied);
  ASSERT_EQ(grant(store(), 0, "holder-b", {1, 31000}, {}, "prod#Org#other"), WriteOutcome::kApplied);
  EXPECT_EQ(count(store(), "prod#Org#acme"), 1);
  auto all = store().list_active("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<ActiveEntry>{{"i-00000000000000040", "prod#Org#acme"}}));
  auto items = store().list_items();
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].instance_id, "i-00000000000000040");
  auto meta = store().get_meta();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, std::nullopt);
}

}  // namespace
}  // namespace rcc
