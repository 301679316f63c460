// The simulator: a fleet day replayed through the real counter, reconcile and reader code, in virtual time.
//
// One run simulates the same workload once per strategy (up to three) with the same seed, each time in its own
// simulated account:
//  - baseline: every scale-up decision counts the key's active runners with a filtered DescribeInstances
//    (what terraform-aws-github-runner's scale-up does today);
//  - cache: every decision asks RunnerCountReader, which reads the table kept by the counter function
//    (CounterFunction::handle fed each simulated EventBridge delivery and schedule tick as its JSON), and
//    falls back to EC2 when the table cannot vouch for itself;
//  - register: the cache, plus the scale-up side of the table contract: every decision takes the key's
//    slots (take_slots: the reader's count, then a conditional grant on the lease's version), launches at
//    most what it was granted, registers the launched instances (register_launches) once the launch
//    request returns and releases the grant (release_slots). Lease requests of concurrent decisions
//    interleave in virtual time: a grant that another decision's grant overtook fails and is decided again.
// Job arrivals and every job's durations are drawn from streams keyed by the seed and the job, so every run
// sees the same jobs; the fleets differ only where the strategies' decisions differ. Each account has its
// own EC2 token bucket, shared by every EC2 caller of that run (scale-up, tag lookups, reconcile, reader
// fallbacks). DynamoDB and EC2 requests take their modelled latency in virtual time (a VirtualEnv per
// activity). Nothing sleeps and nothing reads the wall clock: a seed gives the same result on every run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <string>
#include <vector>

#include "rcc/status.h"
#include "rcc/store.h"

namespace rcc {

// The strategies, in the order of every per-strategy figure.
enum class SimStrategy { kBaseline = 0, kCache = 1, kRegister = 2 };
inline constexpr int kSimStrategies = 3;
// "baseline", "cache", "register".
std::string_view strategy_name(SimStrategy strategy);
// Whether the strategy keeps a table (cache, register).
inline bool keeps_table(SimStrategy strategy) { return strategy != SimStrategy::kBaseline; }
// The strategy named `name`; InvalidArgument naming it otherwise.
Result<SimStrategy> parse_strategy(std::string_view name);

struct SimulationOptions {
  std::uint64_t seed = 1;
  // The strategies to run, each at most once, in this order in every output (the default: all three).
  std::vector<SimStrategy> strategies = {SimStrategy::kBaseline, SimStrategy::kCache, SimStrategy::kRegister};

  // Workload.
  std::int64_t runners_per_day = 20000;  // jobs per day, each served by one ephemeral runner
  double hours = 24;                     // length of the simulated window (the day/night cycle spans it)
  int owners = 12;                       // owners (orgs or repos), Zipf-weighted
  double repo_owner_share = 0.25;        // share of owners scaled as Repo runners (the rest Org)
  double non_runner_share = 0.1;         // share of the account's launches that are not runners of the env
  double burst_share = 0.2;              // share of jobs arriving in bursts (a matrix build, a monorepo push)
  int bursts_per_day = 24;
  double job_median_s = 360;             // job duration: lognormal with this median ...
  double job_sigma = 0.9;                // ... and shape, capped at 4 h
  double boot_failure_rate = 0.02;       // instances that fail at boot (pending -> shutting-down)
  double stop_start_rate = 0.01;         // instances stopped and started once before their job

  // Scale-up.
  std::int64_t max_runners = 120;        // runners_maximum_count per key
  std::int64_t batch_window_ms = 5000;   // SQS batching window: a decision waits this long for more jobs
  int batch_size = 10;                   // at most this many jobs per decision
  std::int64_t requeue_delay_ms = 30000; // jobs not launched (max reached, count failed) retry after this
  std::int64_t launch_ms = 0;            // the launch request (CreateFleet) returns this long after it is sent;
                                         // the instances exist from the sending on. The register strategy
                                         // registers them and releases the lease only when it returns.

  // Slots (register strategy): rcc::SlotOptions of take_slots/release_slots.
  std::int64_t slot_lease_ms = 30000;    // lease_ms
  std::int64_t slot_settle_ms = 2000;    // settle_ms
  std::int64_t slot_wait_ms = 10000;     // wait_ms

  // EC2.
  double ec2_burst = 100;                // non-mutating token bucket: size ...
  double ec2_refill_per_s = 20;          // ... and refill rate
  double ec2_base_ms = 400;              // filtered DescribeInstances latency: fixed part ...
  double ec2_per_instance_ms = 8;        // ... per instance the account lists ...
  double ec2_per_result_ms = 25;         // ... per instance on the page ...
  double ec2_jitter_sigma = 0.25;        // ... times lognormal jitter of this shape
  double ec2_by_id_min_ms = 100;         // DescribeInstances by id: uniform latency
  double ec2_by_id_max_ms = 300;
  double ec2_visibility_mean_ms = 300;   // mean delay before a new instance is visible to the API
  int ec2_max_attempts = 8;              // throttled attempts before a call gives up
  double ec2_backoff_base_ms = 500;      // backoff: uniform(0, min(cap, base * 2^attempt))
  double ec2_backoff_cap_ms = 20000;

  // EventBridge and Lambda.
  double delivery_median_ms = 500;       // delivery latency: lognormal with this median ...
  double delivery_sigma = 0.9;           // ... and shape (long tail; out-of-order delivery falls out of it)
  double duplicate_rate = 0.01;          // deliveries delivered twice
  double drop_rate = 0.001;              // events never delivered (reconcile repairs them)
  std::int64_t lambda_retry_delay_ms = 60000;  // a failed invocation is retried after this, then twice it ...
  int lambda_retries = 2;                // ... this many times; then the event goes to the dead-letter queue

  // Counter and reader (the reconcile grace window is the counter function's own, see ReconcileOptions).
  std::string environment = "prod";
  std::int64_t tick_interval_ms = 60000;        // the schedule rule
  std::int64_t reconcile_interval_s = 300;      // RECONCILE_INTERVAL_S
  std::int64_t stale_threshold_ms = 60000;      // RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS
  // LOOKUP_UNREGISTERED of the register run's counter: false (its scale-up registers every runner, so an
  // unregistered instance is recorded without a lookup); the cache run always looks up (nobody registers).
  bool register_lookup_unregistered = false;

  // DynamoDB model: every request's latency, and on-demand prices (us-east-1 since 2024-11-01).
  double dynamo_min_ms = 5;
  double dynamo_max_ms = 10;
  double price_per_million_wru = 0.625;
  double price_per_million_rru = 0.125;
};

// Returns InvalidArgument naming the first option out of range, else ok.
Status validate_simulation_options(const SimulationOptions& options);

// The reconcile grace window of the counter function (the one the simulation runs), in ms.
std::int64_t simulation_grace_ms();

struct LatencyFigures {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

struct CountErrorFigures {
  // Cached count (the table's index count for the decision's key) minus the true active count, sampled at
  // every decision. max and p99 are of the absolute value.
  std::int64_t max = 0;
  std::int64_t p99 = 0;
  double mean_abs = 0;
  std::int64_t samples = 0;
  std::int64_t exact_samples = 0;
  // At quiescence (the fleet frozen at the end of the window, every delivery and retry done, the next
  // reconcile after the grace window run): the sum over keys of |cached - true|. Must be 0.
  std::int64_t final = 0;
  std::int64_t final_true_active = 0;
};

struct CounterFigures {
  std::int64_t events = 0;           // state changes EC2 emitted
  std::int64_t deliveries = 0;       // invocations by EventBridge (duplicates and Lambda retries included)
  std::int64_t duplicates = 0;
  std::int64_t dropped = 0;
  std::int64_t failed_invocations = 0;  // event invocations that failed and were retried by Lambda
  std::int64_t dead_lettered = 0;       // events that failed every retry
  std::int64_t tag_lookups = 0;         // TagSource lookups by the function (each may send several requests)
  std::int64_t ticks = 0;
  std::int64_t failed_ticks = 0;        // schedule ticks that failed (heartbeat, meta read or reconcile)
  std::int64_t reconciles = 0;
  std::int64_t reconcile_added = 0;
  std::int64_t reconcile_removed = 0;
  LatencyFigures invocation_latency; // modelled duration of event invocations (requests, backoff)
};

// The slot mechanism of the register strategy (all zero for the others).
struct SlotFigures {
  std::int64_t takes = 0;            // take_slots calls (one per decision)
  std::int64_t lease_reads = 0;      // lease reads (GetItem), one per attempt
  std::int64_t grant_writes = 0;     // conditional grant writes, the failed ones included
  std::int64_t conflicts = 0;        // grant writes that failed: another decision granted first
  std::int64_t retried = 0;          // decisions with at least one conflict
  std::int64_t recounts = 0;         // count reads of retries whose count had aged past settle_ms / 2
  std::int64_t nothing_granted = 0;  // decisions that had no free slot: nothing written
  std::int64_t timeouts = 0;         // decisions that gave up after wait_ms (their jobs are requeued)
  std::int64_t releases = 0;         // release_slots calls (one per grant written)
  std::int64_t lost = 0;             // releases that found the grant gone
  std::int64_t registered = 0;       // launches registered (the item was created)
  std::int64_t already_known = 0;    // launches whose item the counter had written first
  std::int64_t registration_failures = 0;  // launches whose registration failed (the counter still finds them)
  LatencyFigures retried_take;       // take_slots duration, over the decisions with a conflict
  LatencyFigures hold;               // time from writing the grant to releasing it
};

struct DynamoFigures {
  double read_units = 0;     // read request units billed by the run (the simulator's measurements excluded)
  double write_units = 0;    // write request units, index maintenance included
  std::int64_t reads = 0;    // read requests
  std::int64_t writes = 0;   // write requests
  double monthly_cost_usd = 0;  // (units per hour of the window) x 730 h at the option prices
};

// The figures of one strategy's run. The counter, count error, fallbacks and DynamoDB figures are those of
// the strategies that keep a table (all zero for the baseline).
struct StrategyFigures {
  std::int64_t jobs = 0;             // jobs that arrived
  std::int64_t decisions = 0;        // scale-up decisions made
  std::int64_t failed_decisions = 0; // decisions whose count failed (EC2 throttled beyond its retries)
  std::int64_t launched = 0;         // runners launched
  std::int64_t over_max = 0;         // decisions after which the key had more than max_runners active
  std::int64_t over_max_runners = 0; // runners launched beyond the maximum, summed over those decisions
  std::int64_t over_max_from_cache = 0;  // of over_max: decisions whose count came from the table
  std::int64_t ec2_calls = 0;        // every DescribeInstances request of the account (pages, retries)
  std::int64_t ec2_filtered_calls = 0;  // of which filtered listings (scale-up, fallback, reconcile scan)
  std::int64_t ec2_by_id_calls = 0;     // of which lookups by instance id (tag lookups, reconcile checks)
  std::int64_t ec2_throttled = 0;    // requests answered RequestLimitExceeded
  double ec2_busy_s = 0;             // total modelled EC2 latency of those requests
  LatencyFigures decision_latency;   // time from a decision's start to its count
  LatencyFigures job_wait;           // time from a job's arrival to its runner's launch

  std::map<std::string, std::int64_t> fallbacks;  // decisions answered by EC2, by reason_name()
  CountErrorFigures count_error;
  CounterFigures counter;
  DynamoFigures dynamo;
  SlotFigures slots;
};

// One minute of the window, per strategy (indexed by SimStrategy).
struct MinuteSample {
  std::int64_t minute = 0;
  // DescribeInstances sent in this minute by one strategy.
  struct Ec2Load {
    std::int64_t requests = 0;  // all of them, throttled attempts included
    std::int64_t listings = 0;  // of which filtered listings (the slow kind); the rest are by instance id
    double busy_s = 0;          // modelled time EC2 spent answering them
  };
  std::int64_t true_active[kSimStrategies] = {};    // the environment's true active runners
  std::int64_t cached_active[kSimStrategies] = {};  // active entries of the environment in the table (0 for
                                                    // the baseline, which keeps none)
  Ec2Load ec2[kSimStrategies];
  std::int64_t decisions[kSimStrategies] = {};
  std::int64_t fallbacks[kSimStrategies] = {};
};

struct SimulationResult {
  SimulationOptions options;  // options.strategies: the strategies run; the others' figures are all zero
  StrategyFigures strategies[kSimStrategies];
  std::vector<MinuteSample> minutes;

  const StrategyFigures& of(SimStrategy s) const { return strategies[static_cast<int>(s)]; }
  StrategyFigures& of(SimStrategy s) { return strategies[static_cast<int>(s)]; }
};

// Called with the share of the work done, in [0, 1], at most a few hundred times per run.
using SimulationProgress = std::function<void(double done)>;

// Runs options.strategies. `cache_store` and `register_store` are the tables of the cache and register runs
// (two distinct stores); each must be empty (a fresh MemoryStore, or a new DynamoDB table); a store whose
// strategy does not run is not touched. Returns InvalidArgument for bad options, or a store's error when a
// table fails in a way the counter cannot retry past (the simulation does not hide store failures).
Result<SimulationResult> run_simulation(const SimulationOptions& options, Store& cache_store, Store& register_store,
                                        const SimulationProgress& progress = {});

// The result as one JSON object (members documented in docs/simulator.md).
std::string simulation_json(const SimulationResult& result);
// The summary table printed by `rcc simulate`.
std::string simulation_table(const SimulationResult& result);
// The per-minute CSV: a header line, then one line per minute.
std::string simulation_csv(const SimulationResult& result);
// A self-contained SVG chart: true active vs cached count, and the EC2 work per minute of each strategy.
std::string simulation_svg(const SimulationResult& result);
// Writes simulate.csv, simulate.svg and simulate.json into `dir` (created when missing). IoError on failure.
Status write_simulation_report(const SimulationResult& result, const std::string& dir);

}  // namespace rcc
