#include "sim/simulation.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "core/memory_store.h"

namespace rcc {
namespace {

SimulationOptions small(std::uint64_t seed = 1) {
  SimulationOptions o;
  o.seed = seed;
  o.runners_per_day = 6000;
  o.hours = 4;
  o.max_runners = 30;
  return o;
}

const StrategyFigures& cache(const SimulationResult& r) { return r.of(SimStrategy::kCache); }
const StrategyFigures& reg(const SimulationResult& r) { return r.of(SimStrategy::kRegister); }

SimulationResult run(const SimulationOptions& options) {
  MemoryStore store, register_store;
  auto result = run_simulation(options, store, register_store);
  EXPECT_TRUE(result.ok()) << result.status().to_string();
  return result.ok() ? *result : SimulationResult{};
}

TEST(Simulation, SameSeedGivesIdenticalJson) {
  const std::string a = simulation_json(run(small(7)));
  const std::string b = simulation_json(run(small(7)));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, simulation_json(run(small(8))));
}

TEST(Simulation, QuiescenceErrorIsZeroForSeveralSeeds) {
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    const SimulationResult r = run(small(seed));
    EXPECT_EQ(cache(r).count_error.final, 0) << "seed " << seed;
    EXPECT_EQ(reg(r).count_error.final, 0) << "seed " << seed;
    EXPECT_GT(cache(r).count_error.samples, 100) << "seed " << seed;
    EXPECT_GT(cache(r).counter.events, 1000) << "seed " << seed;
  }
}

TEST(Simulation, QuiescenceErrorIsZeroWithDropsAndDuplicatesTurnedUp) {
  for (std::uint64_t seed : {11, 12, 13}) {
    SimulationOptions o = small(seed);
    o.drop_rate = 0.05;
    o.duplicate_rate = 0.3;
    o.delivery_sigma = 1.8;  // a long tail: many events arrive out of order
    o.stop_start_rate = 0.2;
    o.boot_failure_rate = 0.1;
    const SimulationResult r = run(o);
    EXPECT_GT(cache(r).counter.dropped, 50) << "seed " << seed;
    EXPECT_GT(cache(r).counter.duplicates, 300) << "seed " << seed;
    EXPECT_GT(cache(r).counter.reconcile_added + cache(r).counter.reconcile_removed, 0) << "seed " << seed;
    EXPECT_EQ(cache(r).count_error.final, 0) << "seed " << seed;
    EXPECT_GT(cache(r).count_error.final_true_active, 0) << "seed " << seed;
    EXPECT_EQ(reg(r).count_error.final, 0) << "seed " << seed;
  }
}

TEST(Simulation, DropsWithoutReconcileLeaveDriftThatReconcileRepairs) {
  // With reconcile pushed past the window, only the final reconcile repairs the dropped events: the
  // error during the day shows the drift, the final error is still 0.
  SimulationOptions o = small(21);
  o.drop_rate = 0.05;
  o.reconcile_interval_s = 86400;
  o.stale_threshold_ms = 86400000;
  const SimulationResult r = run(o);
  EXPECT_GT(cache(r).count_error.max, 0);
  EXPECT_EQ(cache(r).count_error.final, 0);
}

TEST(Simulation, CacheSparesEc2TheSlowListings) {
  const SimulationResult r = run(small(3));
  ASSERT_GT(r.of(SimStrategy::kBaseline).decisions, 500);
  // Baseline: one filtered listing per decision. Cache: only reconcile scans and fallbacks.
  EXPECT_GE(r.of(SimStrategy::kBaseline).ec2_filtered_calls, r.of(SimStrategy::kBaseline).decisions);
  EXPECT_LT(cache(r).ec2_filtered_calls * 5, r.of(SimStrategy::kBaseline).ec2_filtered_calls);
  EXPECT_LT(cache(r).ec2_busy_s * 5, r.of(SimStrategy::kBaseline).ec2_busy_s);
  EXPECT_LT(cache(r).decision_latency.p99_ms * 20, r.of(SimStrategy::kBaseline).decision_latency.p50_ms);
  // The cache's own EC2 requests are the tag lookups, about one per instance.
  EXPECT_GE(cache(r).ec2_by_id_calls, cache(r).counter.tag_lookups);
  EXPECT_GT(cache(r).dynamo.write_units, 0);
  EXPECT_GT(cache(r).dynamo.read_units, 0);
  EXPECT_GT(cache(r).dynamo.monthly_cost_usd, 0);
}

TEST(Simulation, StaleCacheFallsBackToEc2) {
  SimulationOptions o = small(4);
  o.stale_threshold_ms = 0;  // every heartbeat is too old by the time a decision reads it
  const SimulationResult r = run(o);
  std::int64_t fallbacks = 0;
  for (const auto& [reason, n] : cache(r).fallbacks) fallbacks += n;
  EXPECT_GT(cache(r).fallbacks.count("heartbeat_stale"), 0u);
  EXPECT_GT(fallbacks, cache(r).decisions / 2);
  EXPECT_GT(cache(r).ec2_filtered_calls, cache(r).decisions / 2);
}

TEST(Simulation, ThrottlingIsCountedWhenTheBucketIsSmall) {
  SimulationOptions o = small(5);
  o.ec2_burst = 2;
  o.ec2_refill_per_s = 0.05;
  const SimulationResult r = run(o);
  EXPECT_GT(r.of(SimStrategy::kBaseline).ec2_throttled, 0);
  EXPECT_GT(cache(r).ec2_throttled, 0);
  EXPECT_EQ(cache(r).count_error.final, 0);  // throttled lookups fail the invocation; Lambda's retries recover
}

TEST(Simulation, JsonHasTheDocumentedMembers) {
  const auto j = nlohmann::json::parse(simulation_json(run(small())));
  ASSERT_TRUE(j.contains("decisions"));
  EXPECT_TRUE(j["decisions"].is_number_integer());
  for (const char* strategy : {"baseline", "cache", "register"}) {
    for (const char* member : {"ec2_calls", "ec2_filtered_calls", "ec2_by_id_calls", "throttled", "over_max",
                               "over_max_from_cache", "over_max_runners", "failed_decisions", "launched",
                               "decisions_by_strategy"}) {
      EXPECT_TRUE(j[member][strategy].is_number_integer()) << member << " " << strategy;
    }
    EXPECT_TRUE(j["ec2_busy_s"][strategy].is_number()) << strategy;
    for (const char* member : {"decision_latency_ms", "job_wait_ms"}) {
      EXPECT_TRUE(j[member][strategy]["p50"].is_number()) << member << " " << strategy;
      EXPECT_TRUE(j[member][strategy]["p99"].is_number()) << member << " " << strategy;
    }
  }
  for (const char* strategy : {"cache", "register"}) {
    EXPECT_TRUE(j["count_error"][strategy]["max"].is_number_integer()) << strategy;
    EXPECT_EQ(j["count_error"][strategy]["final"], 0) << strategy;
    EXPECT_TRUE(j["dynamodb"][strategy]["monthly_cost_usd"].is_number()) << strategy;
    EXPECT_TRUE(j["counter"][strategy]["tag_lookups"].is_number_integer()) << strategy;
  }
  EXPECT_FALSE(j["count_error"].contains("baseline"));
  EXPECT_GT(j["slots"]["register"]["takes"].get<std::int64_t>(), 0);
  EXPECT_GT(j["slots"]["register"]["registered"].get<std::int64_t>(), 0);
  // Every model parameter is recorded.
  for (const char* option : {"ec2_by_id_min_ms", "ec2_by_id_max_ms", "dynamo_min_ms", "dynamo_max_ms",
                             "reconcile_grace_ms", "tick_interval_ms", "lambda_retry_delay_ms", "lambda_retries",
                             "strategies", "launch_ms", "slot_lease_ms", "slot_settle_ms", "slot_wait_ms",
                             "register_lookup_unregistered"}) {
    EXPECT_TRUE(j["options"].contains(option)) << option;
  }
}

TEST(Simulation, DecisionLatencyIsTheReadersSequentialRequests) {
  // The reader wired as a scale-up wires it reads the meta item, then the index: two requests of
  // uniform(min, max) each, so a cache answer takes between 2 x min and 2 x max.
  SimulationOptions o = small(9);
  o.dynamo_min_ms = 20;
  o.dynamo_max_ms = 30;
  const SimulationResult r = run(o);
  ASSERT_EQ(cache(r).fallbacks.size(), 0u);
  EXPECT_GE(cache(r).decision_latency.p50_ms, 40);
  EXPECT_LE(cache(r).decision_latency.max_ms, 60);
}

TEST(Simulation, TheTableNotesComeFromTheData) {
  const std::string table = simulation_table(run(small(3)));
  EXPECT_EQ(table.find("one lookup per new instance"), std::string::npos);
  EXPECT_EQ(table.find("1x fewer"), std::string::npos);
  EXPECT_NE(table.find("of baseline"), std::string::npos);
}

TEST(Simulation, RejectsBadOptions) {
  MemoryStore store, register_store;
  SimulationOptions o = small();
  o.hours = 0;
  EXPECT_EQ(run_simulation(o, store, register_store).status().code(), Code::kInvalidArgument);
  o = small();
  o.drop_rate = 1.5;
  EXPECT_EQ(run_simulation(o, store, register_store).status().code(), Code::kInvalidArgument);
  o = small();
  o.strategies = {};
  EXPECT_EQ(run_simulation(o, store, register_store).status().code(), Code::kInvalidArgument);
  o.strategies = {SimStrategy::kCache, SimStrategy::kCache};
  EXPECT_EQ(run_simulation(o, store, register_store).status().code(), Code::kInvalidArgument);
  o = small();
  o.slot_lease_ms = 0;
  EXPECT_EQ(run_simulation(o, store, register_store).status().code(), Code::kInvalidArgument);
  // One table for two runs would mix their items.
  EXPECT_EQ(run_simulation(small(), store, store).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_strategy("registered").status().code(), Code::kInvalidArgument);
}

// ---- The register strategy: cache + launch registration + slot grants ----

TEST(SimulationRegister, NeverOverTheMaximumOnCountsFromTheTable) {
  for (std::uint64_t seed : {1, 2, 3}) {
    SimulationOptions o = small(seed);
    o.burst_share = 0.5;  // bursts of one owner make concurrent decisions for one key
    o.max_runners = 15;   // and a low maximum makes them matter
    const SimulationResult r = run(o);
    ASSERT_GT(reg(r).decisions, 300) << "seed " << seed;
    EXPECT_EQ(reg(r).over_max_from_cache, 0) << "seed " << seed;
    // The same workload drives the cache over the maximum: the test can fail.
    EXPECT_GT(cache(r).over_max_from_cache, 0) << "seed " << seed;
    EXPECT_EQ(reg(r).count_error.final, 0) << "seed " << seed;
  }
}

TEST(SimulationRegister, RegisteredRunnersNeedNoTagLookup) {
  const SimulationResult r = run(small(3));
  const SlotFigures& slots = reg(r).slots;
  ASSERT_GT(reg(r).launched, 500);
  // Every launch is registered (the counter cannot know an instance before its launch request returns).
  EXPECT_EQ(slots.registered + slots.already_known, reg(r).launched);
  EXPECT_EQ(slots.registration_failures, 0);
  // The counter's lookups are left to the instances nobody registered: the account's other instances.
  EXPECT_LT(reg(r).counter.tag_lookups * 4, cache(r).counter.tag_lookups);
  EXPECT_LT(reg(r).ec2_by_id_calls * 4, cache(r).ec2_by_id_calls);
  EXPECT_LT(reg(r).ec2_calls * 3, r.of(SimStrategy::kBaseline).ec2_calls);
}

TEST(SimulationRegister, ConcurrentDecisionsForOneKeyConflictAndDecideAgainWithoutWaiting) {
  SimulationOptions o = small(5);
  o.burst_share = 0.6;
  o.batch_size = 2;      // a burst becomes many decisions of one key at the same instant
  o.launch_ms = 1500;    // each grant stays reserved through its launch request
  // A stopped runner started again was granted by no decision and is in the count only once its event
  // arrives: the protocol cannot see it (docs/counting.md, limits), so this test leaves restarts out.
  o.stop_start_rate = 0;
  const SimulationResult r = run(o);
  const SlotFigures& slots = reg(r).slots;
  ASSERT_GT(slots.takes, 500);
  EXPECT_GT(slots.conflicts, 50);  // the decisions' lease requests interleaved
  EXPECT_GT(slots.retried, 50);
  EXPECT_EQ(slots.lease_reads, slots.takes + slots.conflicts);
  EXPECT_EQ(slots.grant_writes, slots.releases + slots.conflicts);  // every grant written is released once
  EXPECT_EQ(slots.releases + slots.nothing_granted + slots.timeouts, slots.takes);
  EXPECT_GE(slots.hold.p50_ms, 1500);
  EXPECT_EQ(slots.timeouts, 0);
  EXPECT_EQ(reg(r).over_max_from_cache, 0);
  // Nobody waits for another decision's launch: decisions take a few requests, not a launch.
  EXPECT_LT(reg(r).decision_latency.p99_ms, 500);
  EXPECT_LT(slots.retried_take.p99_ms, 500);
}

TEST(SimulationRegister, AGrantOutlivedByItsLaunchIsRemovedAndItsReleaseLost) {
  SimulationOptions o = small(6);
  o.burst_share = 0.6;
  o.batch_size = 2;
  o.launch_ms = 6000;       // the launch request outlasts the grant by more than lease_ms: ...
  o.slot_lease_ms = 1000;   // ... a later grant removes its entry
  const SimulationResult r = run(o);
  EXPECT_GT(reg(r).slots.lost, 0);
  EXPECT_EQ(reg(r).count_error.final, 0);
}

TEST(SimulationRegister, StrategiesCanBeChosen) {
  SimulationOptions o = small(2);
  o.strategies = {SimStrategy::kRegister, SimStrategy::kBaseline};
  const SimulationResult r = run(o);
  EXPECT_GT(reg(r).decisions, 0);
  EXPECT_EQ(cache(r).decisions, 0);
  const auto j = nlohmann::json::parse(simulation_json(r));
  EXPECT_TRUE(j["ec2_calls"].contains("register"));
  EXPECT_FALSE(j["ec2_calls"].contains("cache"));
  EXPECT_EQ(j["options"]["strategies"], nlohmann::json::array({"register", "baseline"}));
  const std::string table = simulation_table(r);
  EXPECT_LT(table.find("register (slots)"), table.find("baseline (EC2)"));
  EXPECT_EQ(table.find("cache (reader)"), std::string::npos);
}

TEST(SimulationReport, WritesCsvAndWellFormedSvg) {
  const SimulationResult r = run(small());
  const auto dir = std::filesystem::temp_directory_path() / ("rcc_sim_report_" + std::to_string(::getpid()));
  ASSERT_TRUE(write_simulation_report(r, dir.string()).ok());

  std::ifstream csv(dir / "simulate.csv");
  std::string header;
  ASSERT_TRUE(std::getline(csv, header));
  EXPECT_EQ(header.rfind("minute,hour,true_active_baseline,true_active_cache,true_active_register,"
                         "cached_active_cache,cached_active_register,", 0),
            0u);
  std::size_t lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 240u);  // one per minute of 4 hours

  pugi::xml_document svg;
  const pugi::xml_parse_result parsed = svg.load_file((dir / "simulate.svg").c_str());
  ASSERT_TRUE(parsed) << parsed.description();
  const pugi::xml_node root = svg.child("svg");
  ASSERT_TRUE(root);
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://www.w3.org/2000/svg");
  // True and cached of cache and register, EC2 work of the three.
  EXPECT_EQ(svg.select_nodes("//polyline").size(), 7u);
  std::string text;
  for (const auto& node : svg.select_nodes("//text")) text += std::string(node.node().text().get()) + "|";
  EXPECT_NE(text.find("true active runners"), std::string::npos);
  EXPECT_NE(text.find("cached count"), std::string::npos);
  EXPECT_NE(text.find("baseline"), std::string::npos);
  EXPECT_NE(text.find("register"), std::string::npos);
  EXPECT_NE(text.find("4 h"), std::string::npos) << "hour ticks span the window";
  EXPECT_TRUE(svg.select_node("//*[@href or @xlink:href]") == nullptr) << "self-contained";
  EXPECT_TRUE(nlohmann::json::accept(std::ifstream(dir / "simulate.json")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rcc
