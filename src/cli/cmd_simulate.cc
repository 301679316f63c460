// rcc simulate: a fleet day replayed through the real counter, reconcile and reader, with the figures an
// operator needs before deploying: accuracy, EC2 calls saved, decision latency, DynamoDB cost.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/aws_options.h"
#include "cli/commands.h"
#include "rcc/dynamo_store.h"
#include "core/memory_store.h"
#include "sim/simulation.h"

namespace rcc::cli {
namespace {

struct SimulateFlags {
  SimulationOptions options;
  double batch_window_s = 5;
  double requeue_delay_s = 30;
  double lambda_retry_delay_s = 60;
  double tick_interval_s = 60;
  double launch_s = 0;
  std::vector<std::string> strategies = {"baseline", "cache", "register"};
  std::string store = "memory";
  std::string table;
  std::string register_table;
  AwsOverrides aws;
  std::string report_dir;
  bool json = false;
  bool progress = true;
};

// A progress bar on stderr, drawn only on a terminal and only once the run has lasted a second. The wall
// clock here only decides whether to draw; the simulation itself runs in virtual time.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO) == 1) {}
  ~ProgressBar() {
    if (drawn_) std::fputs("\r\033[K", stderr);
  }

  void update(double done) {
    if (!enabled_) return;
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    if (elapsed < std::chrono::seconds(1)) return;
    const int percent = static_cast<int>(std::lround(done * 100));
    if (percent == last_percent_) return;
    last_percent_ = percent;
    constexpr int kWidth = 40;
    const int filled = kWidth * percent / 100;
    std::fprintf(stderr, "\rsimulating [%.*s%*s] %3d%%", filled, "########################################",
                 kWidth - filled, "", percent);
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Opens `table` for a run into `store`; the run needs it empty. Returns 0, or prints why not and returns the
// exit code (1: the table cannot be read; 2: it is not empty).
int open_empty_table(const AwsConfig& config, const std::string& table, std::unique_ptr<DynamoStore>& store) {
  store = make_dynamo_store(config, table);
  // The run's figures assume a table only it writes to.
  auto items = store->list_items();
  if (!items.ok()) {
    std::cerr << "rcc simulate: table " << table << ": " << items.status().to_string()
              << " (create it with `rcc table create --table " << table << "`)\n";
    return 1;
  }
  auto meta = store->get_meta();
  if (!items->empty() || !meta.ok() || meta->has_value()) {
    std::cerr << "rcc simulate: table " << table << " is not empty: the simulation needs a fresh table\n";
    return 2;
  }
  return 0;
}

int run_simulate(SimulateFlags& flags) {
  SimulationOptions& options = flags.options;
  options.strategies.clear();
  for (const std::string& name : flags.strategies) {
    auto strategy = parse_strategy(name);
    if (!strategy.ok()) {
      std::cerr << "rcc simulate: --strategies: " << strategy.status().message() << '\n';
      return 2;
    }
    options.strategies.push_back(*strategy);
  }
  options.launch_ms = static_cast<std::int64_t>(std::llround(flags.launch_s * 1000));
  options.batch_window_ms = static_cast<std::int64_t>(std::llround(flags.batch_window_s * 1000));
  options.requeue_delay_ms = static_cast<std::int64_t>(std::llround(flags.requeue_delay_s * 1000));
  options.lambda_retry_delay_ms = static_cast<std::int64_t>(std::llround(flags.lambda_retry_delay_s * 1000));
  options.tick_interval_ms = static_cast<std::int64_t>(std::llround(flags.tick_interval_s * 1000));
  if (Status valid = validate_simulation_options(options); !valid.ok()) {
    std::cerr << "rcc simulate: " << valid.message() << '\n';
    return 2;
  }
  auto runs = [&](SimStrategy s) {
    return std::find(options.strategies.begin(), options.strategies.end(), s) != options.strategies.end();
  };
  MemoryStore memory, register_memory;
  std::unique_ptr<DynamoStore> dynamo, register_dynamo;
  if (flags.store == "dynamodb") {
    const bool cache_table = runs(SimStrategy::kCache);
    const bool register_table = runs(SimStrategy::kRegister);
    if (cache_table && flags.table.empty()) {
      std::cerr << "rcc simulate: --store dynamodb needs --table (or RUNNER_COUNT_CACHE_TABLE_NAME) for the cache run\n";
      return 2;
    }
    auto config = resolve_aws_options(flags.aws);
    if (!config.ok()) {
      std::cerr << "rcc simulate: " << config.status().message() << '\n';
      return exit_code_for(config.status());
    }
    if (register_table && flags.register_table.empty()) {
      std::cerr << "rcc simulate: --store dynamodb needs --register-table (a second empty table) for the register "
                   "run, or --strategies without register\n";
      return 2;
    }
    if (cache_table && register_table && flags.table == flags.register_table) {
      std::cerr << "rcc simulate: --table and --register-table must name two different tables\n";
      return 2;
    }
    if (cache_table) {
      if (int code = open_empty_table(*config, flags.table, dynamo); code != 0) return code;
    }
    if (register_table) {
      if (int code = open_empty_table(*config, flags.register_table, register_dynamo); code != 0) return code;
    }
    const double jobs = static_cast<double>(options.runners_per_day) * options.hours / 24.0;
    if (jobs > 5000) {
      std::cerr << "rcc simulate: note: " << static_cast<long long>(jobs)
                << " jobs against a DynamoDB endpoint make about " << static_cast<long long>(jobs * 14)
                << " requests; a smaller window (e.g. --runners-per-day 2400 --hours 2) keeps it short\n";
    }
  }
  Store& store = dynamo ? static_cast<Store&>(*dynamo) : memory;
  Store& register_store = register_dynamo ? static_cast<Store&>(*register_dynamo) : register_memory;
  Result<SimulationResult> result = Status::Internal("not run");
  {
    ProgressBar bar(flags.progress);
    result = run_simulation(options, store, register_store, [&bar](double done) { bar.update(done); });
  }
  if (!result.ok()) {
    std::cerr << "rcc simulate: " << result.status().to_string() << '\n';
    return 1;
  }
  if (!flags.report_dir.empty()) {
    if (Status written = write_simulation_report(*result, flags.report_dir); !written.ok()) {
      std::cerr << "rcc simulate: " << written.message() << '\n';
      return 1;
    }
  }
  if (flags.json) {
    std::cout << simulation_json(*result) << '\n';
  } else {
    std::cout << simulation_table(*result);
    if (!flags.report_dir.empty()) {
      std::cout << "Report: " << flags.report_dir << "/simulate.svg, simulate.csv, simulate.json\n";
    }
  }
  return 0;
}

constexpr const char* kDescription = R"(Replay a simulated fleet day through the real counter code and compare three scale-up strategies.

The same workload runs once per strategy (--strategies, default all three) with the same seed, each in its
own simulated account with its own fleet and EC2 token bucket (job arrivals and each job's durations come
from per-job random streams, so every run sees the same jobs; the fleets differ only where the strategies'
decisions differ):
  baseline  every scale-up decision counts the key's runners with a filtered DescribeInstances
            (state pending/running, tag:ghr:Application, tag:ghr:environment, tag:ghr:Type, tag:ghr:Owner),
            as the terraform-aws-github-runner scale-up does today;
  cache     every decision asks RunnerCountReader (one table handle, meta item then index count); the
            table is kept by the real counter function: CounterFunction::handle gets each simulated
            EventBridge delivery and each schedule tick (--tick-interval-s) as its JSON, looks tags up
            through Ec2TagSource on the simulated EC2 and reconciles when due; stale -> the reader's EC2
            fallback.
  register  the cache plus the scale-up's side of the table: every decision calls take_slots (the
            reader's count, one lease read, then one conditional grant on the lease's version, counting
            the other decisions' grants and the launches of the last --slot-settle-ms), launches at most
            the slots it got, and when the launch request returns (--launch-s) registers the instances
            (register_launches, one conditional write each) and releases the grant (release_slots). Lease
            requests of concurrent decisions interleave in virtual time; a grant overtaken by another
            decision's fails its condition and the decision reads the lease again at once (up to
            --slot-wait-ms, then its jobs are requeued). Events of registered instances need no
            tag lookup; with --store dynamodb this run needs --register-table, a second empty table.
Everything runs in virtual time (an event queue; each activity's requests advance its own clock; nothing
sleeps), deterministic for --seed.

Workload: --runners-per-day jobs (scaled to --hours) on a working-day curve (nights at 15% of the 13:00
peak; the cycle spans the window) plus bursts (--burst-share of the jobs in --bursts-per-day one-minute
bursts of one owner); --owners owners with Zipf weights, a --repo-owner-share of them Repo runners; a
--non-runner-share of the account's launches are other instances (half other workloads, half runners of
another environment). A decision takes up to --batch-size queued jobs of an owner after --batch-window,
launches min(jobs, max - count) and requeues the rest after --requeue-delay; the instances exist from
the launch request on, which returns --launch-s later. Runners: pending, running
after 15-45 s, the job (lognormal, --job-median-s, --job-sigma), shutting-down, terminated 20-90 s later;
--boot-failure-rate fail at boot, --stop-start-rate are stopped and started once.

EC2 model: a non-mutating token bucket (--ec2-burst, --ec2-refill-per-s) shared by every caller of the
account; throttled requests retry after uniform(0, min(--ec2-backoff-cap-ms, --ec2-backoff-base-ms * 2^n))
and count. A filtered DescribeInstances page takes
  (--ec2-base-ms + --ec2-per-instance-ms * V + --ec2-per-result-ms * R) * lognormal(1, --ec2-jitter-sigma)
with V the instances the account lists (live ones and those terminated within the hour) and R those on
the page: with the defaults, about 15-35 s at the peak of the default day (a few thousand listed, a few
hundred matching), as upstream reports at 20K+ runners a day. A lookup by id takes
uniform(--ec2-by-id-min-ms, --ec2-by-id-max-ms).
New instances are invisible to the API for an exponential time (mean --ec2-visibility-mean-ms).
A decision's count reflects the fleet when its call starts; it launches when the call returns.

Delivery: lognormal latency (--delivery-median-ms, --delivery-sigma), --duplicate-rate, --drop-rate;
a failed invocation is retried by Lambda --lambda-retries times, the n-th after n x --lambda-retry-delay-s,
then dead-lettered. DynamoDB: every request of the function, the reader, the slot lease and the
registration takes uniform(--dynamo-min-ms, --dynamo-max-ms) on its activity's clock; a decision's
latency is the sum of its requests (plus the EC2 time of a fallback, plus the retries of a conflicting grant). Count error = the table's count for the key minus the
truth, at every decision; at the end of the window the fleet freezes, deliveries drain, the schedule
ticks until a reconcile runs after the function's grace window, and the error must be 0.
Cost: DynamoDB on-demand request units (failed conditional writes and index writes included) at
us-east-1 prices since AWS halved them on 2024-11-01: $0.625 per million write and $0.125 per million
read request units (units as defined on aws.amazon.com/dynamodb/pricing/on-demand; the figures as quoted
by airbyte.com's DynamoDB pricing guide, July 2025; looked up 2026-11-27), scaled to 730 h a month.)";

}  // namespace

void add_simulate_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<SimulateFlags>();
  SimulationOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand("simulate", kDescription);
  auto* workload = "Workload";
  cmd->add_option("--seed", o.seed, "Random seed; the same seed gives the same result")->capture_default_str();
  cmd->add_option("--strategies", flags->strategies,
                  "Strategies to run, comma-separated, in output order: baseline, cache, register")
      ->delimiter(',')->check(CLI::IsMember({"baseline", "cache", "register"}))->capture_default_str();
  cmd->add_option("--runners-per-day", o.runners_per_day, "Jobs (one ephemeral runner each) per day")
      ->check(CLI::Range(1, 5000000))->capture_default_str()->group(workload);
  cmd->add_option("--hours", o.hours, "Length of the simulated window in hours")
      ->check(CLI::Range(0.01, 336.0))->capture_default_str()->group(workload);
  cmd->add_option("--owners", o.owners, "Owners (orgs or repos), one runner key each")
      ->check(CLI::Range(1, 10000))->capture_default_str()->group(workload);
  cmd->add_option("--repo-owner-share", o.repo_owner_share, "Share of owners with Repo runners")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(workload);
  cmd->add_option("--non-runner-share", o.non_runner_share, "Share of the account's launches that are not runners")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str()->group(workload);
  cmd->add_option("--burst-share", o.burst_share, "Share of jobs arriving in bursts")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(workload);
  cmd->add_option("--bursts-per-day", o.bursts_per_day, "Bursts per day")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(workload);
  cmd->add_option("--job-median-s", o.job_median_s, "Median job duration (s)")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(workload);
  cmd->add_option("--job-sigma", o.job_sigma, "Lognormal shape of job durations")
      ->check(CLI::Range(0.0, 5.0))->capture_default_str()->group(workload);
  cmd->add_option("--boot-failure-rate", o.boot_failure_rate, "Share of runners failing at boot")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(workload);
  cmd->add_option("--stop-start-rate", o.stop_start_rate, "Share of runners stopped and started once")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(workload);

  auto* scaleup = "Scale-up";
  cmd->add_option("--max-runners", o.max_runners, "runners_maximum_count per key")
      ->check(CLI::Range(1, 1000000))->capture_default_str()->group(scaleup);
  cmd->add_option("--batch-window", flags->batch_window_s, "Batching window of queued jobs (s)")
      ->check(CLI::Range(0.0, 3600.0))->capture_default_str()->group(scaleup);
  cmd->add_option("--batch-size", o.batch_size, "Jobs per decision at most")
      ->check(CLI::Range(1, 10000))->capture_default_str()->group(scaleup);
  cmd->add_option("--requeue-delay", flags->requeue_delay_s, "Delay before a job not launched is retried (s)")
      ->check(CLI::Range(0.001, 86400.0))->capture_default_str()->group(scaleup);
  cmd->add_option("--launch-s", flags->launch_s,
                  "The launch request (CreateFleet) returns this long after it is sent (s); register registers\n"
                  "and releases the grant only then")
      ->check(CLI::Range(0.0, 3600.0))->capture_default_str()->group(scaleup);
  cmd->add_option("--slot-lease-ms", o.slot_lease_ms, "register: how long a grant reserves its slots")
      ->check(CLI::Range(1, 86400000))->capture_default_str()->group(scaleup);
  cmd->add_option("--slot-settle-ms", o.slot_settle_ms,
                  "register: launches are counted from their grant this long after its release")
      ->check(CLI::Range(0, 86400000))->capture_default_str()->group(scaleup);
  cmd->add_option("--slot-wait-ms", o.slot_wait_ms,
                  "register: how long a decision keeps deciding again after conflicts before its jobs are requeued")
      ->check(CLI::Range(0, 86400000))->capture_default_str()->group(scaleup);

  auto* ec2 = "EC2 model";
  cmd->add_option("--ec2-burst", o.ec2_burst, "Token bucket size (non-mutating actions)")
      ->check(CLI::Range(1.0, 1e9))->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-refill-per-s", o.ec2_refill_per_s, "Token bucket refill per second")
      ->check(CLI::Range(0.001, 1e9))->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-base-ms", o.ec2_base_ms, "Filtered DescribeInstances: fixed latency (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-per-instance-ms", o.ec2_per_instance_ms, "... per instance the account lists (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-per-result-ms", o.ec2_per_result_ms, "... per instance on the page (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-jitter-sigma", o.ec2_jitter_sigma, "... lognormal jitter shape")
      ->check(CLI::Range(0.0, 3.0))->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-by-id-min-ms", o.ec2_by_id_min_ms, "DescribeInstances by instance id: latency, uniform from ...")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-by-id-max-ms", o.ec2_by_id_max_ms, "... to (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-visibility-mean-ms", o.ec2_visibility_mean_ms, "Mean delay before a new instance is visible")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-max-attempts", o.ec2_max_attempts, "Throttled attempts before a call fails")
      ->check(CLI::Range(1, 100))->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-backoff-base-ms", o.ec2_backoff_base_ms, "Backoff base (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);
  cmd->add_option("--ec2-backoff-cap-ms", o.ec2_backoff_cap_ms, "Backoff cap (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(ec2);

  auto* delivery = "Delivery and counter";
  cmd->add_option("--delivery-median-ms", o.delivery_median_ms, "EventBridge delivery latency median (ms)")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(delivery);
  cmd->add_option("--delivery-sigma", o.delivery_sigma, "Lognormal shape of the delivery latency")
      ->check(CLI::Range(0.0, 5.0))->capture_default_str()->group(delivery);
  cmd->add_option("--duplicate-rate", o.duplicate_rate, "Share of events delivered twice")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(delivery);
  cmd->add_option("--drop-rate", o.drop_rate, "Share of events never delivered")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(delivery);
  cmd->add_option("--lambda-retries", o.lambda_retries,
                  "Lambda's retries of a failed invocation; then the event is dead-lettered")
      ->check(CLI::Range(0, 100))->capture_default_str()->group(delivery);
  cmd->add_option("--lambda-retry-delay-s", flags->lambda_retry_delay_s,
                  "Delay before Lambda's first retry (s); the n-th waits n times this")
      ->check(CLI::Range(0.001, 86400.0))->capture_default_str()->group(delivery);
  cmd->add_option("--tick-interval-s", flags->tick_interval_s, "Period of the schedule rule that ticks the counter (s)")
      ->check(CLI::Range(1.0, 86400.0))->capture_default_str()->group(delivery);
  cmd->add_option("--environment", o.environment, "ENVIRONMENT_FILTER of the simulated deployment")
      ->capture_default_str()->group(delivery);
  cmd->add_option("--reconcile-interval-s", o.reconcile_interval_s, "RECONCILE_INTERVAL_S")
      ->check(CLI::Range(1, 86400))->capture_default_str()->group(delivery);
  cmd->add_option("--stale-threshold-ms", o.stale_threshold_ms, "RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS")
      ->check(CLI::Range(0, 86400000))->capture_default_str()->group(delivery);
  cmd->add_option("--register-lookup-unregistered", o.register_lookup_unregistered,
                  "LOOKUP_UNREGISTERED of the register run's counter: false records an instance nobody registered "
                  "without an EC2 lookup (reconcile counts it if it is a runner); true looks it up as the cache run does")
      ->capture_default_str()->group(delivery);

  auto* cost = "DynamoDB model";
  cmd->add_option("--dynamo-min-ms", o.dynamo_min_ms, "Every DynamoDB request: latency, uniform from ...")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(cost);
  cmd->add_option("--dynamo-max-ms", o.dynamo_max_ms, "... to (ms)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(cost);
  cmd->add_option("--price-wru", o.price_per_million_wru, "USD per million write request units")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(cost);
  cmd->add_option("--price-rru", o.price_per_million_rru, "USD per million read request units")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(cost);

  cmd->add_option("--store", flags->store,
                  "Table of the cache run: memory (embedded) or dynamodb (--table, an empty table made by\n"
                  "`rcc table create`; same figures, real requests; use a small window)")
      ->check(CLI::IsMember({"memory", "dynamodb"}))->capture_default_str();
  add_table_option(cmd, flags->table);
  cmd->add_option("--register-table", flags->register_table,
                  "With --store dynamodb: a second empty table, for the register run");
  add_aws_options(cmd, flags->aws);
  cmd->add_option("--report", flags->report_dir, "Write simulate.csv, simulate.svg and simulate.json into DIR");
  cmd->add_flag("--json", flags->json, "Print the figures as one JSON object instead of the table");
  cmd->add_flag_callback("--no-progress", [flags] { flags->progress = false; }, "Never draw the progress bar");
  cmd->callback([flags, &exit_code] { exit_code = run_simulate(*flags); });
}

}  // namespace rcc::cli
