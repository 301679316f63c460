// The discrete-event engine of the simulator: one priority queue of timestamped events per run.
#include "sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <utility>

#include <nlohmann/json.hpp>

#include "app/counter_function.h"
#include "app/log.h"
#include "app/metrics.h"
#include "app/reconcile.h"
#include "core/counter.h"
#include "core/forwarding_store.h"
#include "core/tag_source.h"
#include "rcc/event.h"
#include "rcc/reader.h"
#include "rcc/registration.h"
#include "rcc/slots.h"
#include "sim/fiber.h"
#include "sim/fleet.h"
#include "sim/latency_store.h"
#include "sim/metered_store.h"
#include "sim/random.h"
#include "sim/timeline.h"
#include "sim/workload.h"

namespace rcc {
namespace {

using sim::Ec2Purpose;
using sim::SimEc2;
using sim::SimFleet;
using sim::SimRandom;
using sim::Stream;

using Strategy = SimStrategy;

// A TagSource that counts the function's lookups and forwards them.
class CountingTagSource : public TagSource {
 public:
  explicit CountingTagSource(TagSource& inner) : inner_(inner) {}
  Result<std::optional<Tags>> lookup(std::string_view instance_id, bool expect_exists) override {
    ++lookups_;
    return inner_.lookup(instance_id, expect_exists);
  }
  std::int64_t lookups() const { return lookups_; }

 private:
  TagSource& inner_;
  std::int64_t lookups_ = 0;
};

// The Env of a decision taking slots (the register strategy): its clocks are the decision's own; a pause
// (and every lease request, see LeaseYieldingStore) suspends the decision's fiber, and the event queue
// resumes it at the decision's clock, after the activities due meanwhile (other decisions' grants among
// them) have run.
class WaitingEnv final : public Env {
 public:
  WaitingEnv(VirtualEnv& decision, SimRandom& random, sim::Fiber& fiber)
      : decision_(decision), random_(random), fiber_(fiber) {}

  std::int64_t wall_ms() override { return decision_.wall_ms(); }
  std::int64_t monotonic_ms() override { return decision_.monotonic_ms(); }
  void sleep_ms(std::int64_t ms) override {
    if (ms <= 0) return;
    decision_.sleep_ms(ms);
    fiber_.suspend();  // false only while the run is torn down: the wait then ends at once
  }
  double uniform() override { return random_.uniform(); }
  std::optional<std::string> getenv(std::string_view name) override { return decision_.getenv(name); }
  // Lets the activities due before the decision's clock run first.
  void yield() { fiber_.suspend(); }

 private:
  VirtualEnv& decision_;
  SimRandom& random_;
  sim::Fiber& fiber_;
};

// The JSON of a tick of the schedule rule at `now_ms`, as EventBridge delivers it.
std::string scheduled_event_json(std::int64_t tick, std::int64_t now_ms) {
  nlohmann::json j = {{"version", "0"},
                      {"id", "tick-" + std::to_string(tick)},
                      {"detail-type", "Scheduled Event"},
                      {"source", "aws.events"},
                      {"account", "123456789012"},
                      {"time", format_rfc3339(now_ms)},
                      {"region", "us-east-1"},
                      {"resources", {"arn:aws:events:us-east-1:123456789012:rule/runner-count-cache-tick"}},
                      {"detail", nlohmann::json::object()}};
  return j.dump();
}

enum class Kind : std::uint8_t {
  kJobArrival,   // a: job
  kRequeue,      // a: job
  kBatchFire,    // a: owner
  kLaunch,       // a: decision
  kRegister,     // a: decision (its launch request returned: register its instances)
  kRelease,      // a: decision (registered: release the slots)
  kSlotsResume,  // a: decision taking slots, whose lease request answered (or pause ended)
  kTransition,   // a: instance, b: step of its plan
  kOtherLaunch,  // a: other instance
  kDelivery,     // a: delivery
  kTick,
  kMinute,       // a: minute
};

struct Event {
  std::int64_t t = 0;
  std::uint64_t seq = 0;
  Kind kind = Kind::kTick;
  std::int64_t a = 0;
  std::int64_t b = 0;
};

struct Later {
  bool operator()(const Event& x, const Event& y) const { return x.t != y.t ? x.t > y.t : x.seq > y.seq; }
};

struct Decision {
  int owner = 0;
  std::vector<std::int64_t> jobs;
  std::optional<std::int64_t> count;  // nullopt when the count failed
  bool from_cache = false;            // the count came from the table
  std::optional<SlotGrant> grant;     // register: the slots granted (reserved until the release)
  std::int64_t launched_ms = 0;       // register: when the launch request was sent
  std::vector<std::int64_t> instances;  // register: the instances launched, to be registered
};

// The store as a deciding fiber sees it: each lease request is applied when it is sent, then the fiber is
// suspended until its response arrives (the decision's clock, which the request's latency moved), so other
// decisions' lease requests sent meanwhile interleave with it as they would on DynamoDB: a grant whose
// version another decision moved in between fails its condition.
class LeaseYieldingStore final : public ForwardingStore {
 public:
  LeaseYieldingStore(Store& inner, WaitingEnv& env) : ForwardingStore(inner), env_(env) {}

  Result<SlotLease> get_lease(std::string_view key) override {
    auto out = inner().get_lease(key);
    env_.yield();
    return out;
  }
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override {
    auto out = inner().grant_slots(key, expected_version, holder, entry, removals, ttl_s);
    env_.yield();
    return out;
  }
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override {
    auto out = inner().settle_grant(key, holder, entry);
    env_.yield();
    return out;
  }

 private:
  WaitingEnv& env_;
};

// A decision of the register strategy running take_slots on its fiber.
struct SlotTaking {
  Decision decision;
  std::int64_t start_ms = 0;
  std::unique_ptr<VirtualEnv> env;    // the decision's clock while it is set aside
  std::unique_ptr<WaitingEnv> waiting;
  std::unique_ptr<LeaseYieldingStore> store;
  std::optional<Result<SlotGrant>> grant;
  sim::Fiber* fiber = nullptr;        // runs take_slots; back to the run's pool when it returns
};

struct Delivery {
  InstanceEvent event;
  int attempt = 0;
};

// A planned state change of an instance.
struct Step {
  std::int64_t t = 0;
  InstanceState state = InstanceState::kPending;
};

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size()))) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(std::min(k, values.size() - 1)),
                   values.end());
  return values[std::min(k, values.size() - 1)];
}

LatencyFigures latency_figures(std::vector<double> values) {
  LatencyFigures f;
  if (values.empty()) return f;
  f.max_ms = *std::max_element(values.begin(), values.end());
  f.p99_ms = percentile(values, 0.99);
  f.p50_ms = percentile(values, 0.50);
  return f;
}

std::string environment_prefix(const std::string& environment) {
  std::string key = RunnerKey{environment, "", ""}.str();  // "<env>##"
  key.pop_back();
  return key;
}

// One strategy's run over the shared workload.
class Run {
 public:
  Run(Strategy strategy, const SimulationOptions& options, const sim::Workload& workload, Store* table,
      SimulationResult& result, const std::function<void(double)>& progress)
      : strategy_(strategy),
        s_(static_cast<int>(strategy)),
        options_(options),
        workload_(workload),
        result_(result),
        figures_(result.of(strategy)),
        progress_(progress),
        minutes_((workload.end_ms + 59999) / 60000),
        ec2_per_minute_(static_cast<std::size_t>(minutes_)),
        fleet_(owner_keys(workload), static_cast<std::int64_t>(options.ec2_visibility_mean_ms), options.seed),
        ec2_(fleet_, options, options.seed + static_cast<std::uint64_t>(s_), timeline_, &ec2_per_minute_),
        delivery_random_(options.seed, Stream::kDelivery, 0),
        slot_random_(options.seed, Stream::kSlots, 0),
        queues_(workload.owners.size()),
        fire_pending_(workload.owners.size(), false),
        env_prefix_(environment_prefix(options.environment)),
        log_(LogLevel::kError, [](std::string_view) {}),
        metrics_("RunnerCountCache", {}, [](std::string_view) {}) {
    slot_options_.lease_ms = options.slot_lease_ms;
    slot_options_.settle_ms = options.slot_settle_ms;
    slot_options_.wait_ms = options.slot_wait_ms;
    if (keeps_table()) {
      table_ = table;
      metered_ = std::make_unique<sim::MeteredStore>(*table);
      store_ = std::make_unique<sim::LatencyStore>(*metered_, timeline_, options.dynamo_min_ms, options.dynamo_max_ms,
                                                   SimRandom(options.seed, Stream::kDynamo, static_cast<std::uint64_t>(s_)));
      ec2_tags_ = std::make_unique<Ec2TagSource>(ec2_, Ec2TagSource::Options{}, &timeline_);
      tags_ = std::make_unique<CountingTagSource>(*ec2_tags_);
      // The function as the Lambda runs it (one process), on the simulated table and EC2.
      CounterFunctionConfig config;
      config.table_name = "simulated";
      config.environments = {options.environment};
      config.stale_threshold_ms = options.stale_threshold_ms;
      config.reconcile_interval_s = options.reconcile_interval_s;
      config.log_level = LogLevel::kError;
      config.lookup_unregistered = strategy_ != Strategy::kRegister || options.register_lookup_unregistered;
      function_ = std::make_unique<CounterFunction>(config, *store_, ec2_, *tags_, log_, metrics_, &timeline_);
      // The reader as a scale-up wires it: one table handle, the account's EC2 for the fallback.
      ReaderOptions reader_options;
      reader_options.stale_threshold_ms = options.stale_threshold_ms;
      reader_options.reconcile_interval_ms = options.reconcile_interval_s * 1000;
      reader_ = std::make_unique<RunnerCountReader>(*store_, ec2_, reader_options, &timeline_);
    }
    if (result_.minutes.size() != static_cast<std::size_t>(minutes_)) {
      result_.minutes.assign(static_cast<std::size_t>(minutes_), MinuteSample{});
      for (std::int64_t m = 0; m < minutes_; ++m) result_.minutes[static_cast<std::size_t>(m)].minute = m;
    }
  }

  Status run(double progress_from, double progress_to) {
    for (std::size_t j = 0; j < workload_.jobs.size(); ++j) {
      push(workload_.jobs[j].arrival_ms, Kind::kJobArrival, static_cast<std::int64_t>(j));
    }
    for (std::size_t k = 0; k < workload_.others.size(); ++k) {
      push(workload_.others[k].launch_ms, Kind::kOtherLaunch, static_cast<std::int64_t>(k));
    }
    for (std::int64_t m = 0; m < minutes_; ++m) push(m * 60000, Kind::kMinute, m);
    if (keeps_table()) {
      for (std::int64_t t = 0; t < workload_.end_ms; t += options_.tick_interval_ms) {
        // The schedule fires on time; the invocation starts a moment later.
        push(t + static_cast<std::int64_t>(delivery_random_.uniform(100, 1500)), Kind::kTick);
      }
    }
    figures_.jobs = static_cast<std::int64_t>(workload_.jobs.size());

    double reported = -1;
    while (!queue_.empty()) {
      const Event e = queue_.top();
      queue_.pop();
      if (progress_ && e.t < workload_.end_ms) {
        const double done = static_cast<double>(e.t) / static_cast<double>(workload_.end_ms);
        if (done - reported >= 0.01) {
          reported = done;
          progress_(progress_from + (progress_to - progress_from) * done);
        }
      }
      RCC_RETURN_IF_ERROR(dispatch(e));
    }

    if (keeps_table()) {
      RCC_RETURN_IF_ERROR(quiesce(std::max(workload_.end_ms, drained_ms_)));
      RCC_RETURN_IF_ERROR(final_error());
      finish_table_figures();
    }
    finish_strategy_figures();
    if (progress_) progress_(progress_to);
    return Status();
  }

 private:
  static std::vector<std::string> owner_keys(const sim::Workload& w) {
    std::vector<std::string> keys;
    for (const auto& o : w.owners) keys.push_back(o.key_str);
    return keys;
  }

  bool keeps_table() const { return rcc::keeps_table(strategy_); }

  // Runs one event of the queue.
  Status dispatch(const Event& e) {
    now_ = e.t;
    // At the end of the window the fleet freezes: only deliveries (and Lambda's retries) still run, and the
    // decisions under way finish their take_slots, registrations and releases (they launch nothing more).
    if (e.t >= workload_.end_ms && e.kind != Kind::kDelivery && e.kind != Kind::kSlotsResume &&
        e.kind != Kind::kRegister && e.kind != Kind::kRelease) {
      return Status();
    }
    switch (e.kind) {
      case Kind::kJobArrival: enqueue(e.a, workload_.jobs[static_cast<std::size_t>(e.a)].owner); break;
      case Kind::kRequeue: enqueue(e.a, workload_.jobs[static_cast<std::size_t>(e.a)].owner); break;
      case Kind::kBatchFire: RCC_RETURN_IF_ERROR(fire(static_cast<int>(e.a))); break;
      case Kind::kLaunch: RCC_RETURN_IF_ERROR(launch(e.a)); break;
      case Kind::kRegister: RCC_RETURN_IF_ERROR(register_launched(e.a)); break;
      case Kind::kRelease: RCC_RETURN_IF_ERROR(release(e.a)); break;
      case Kind::kSlotsResume: RCC_RETURN_IF_ERROR(resume_slots(e.a)); break;
      case Kind::kTransition: transition(e.a, static_cast<std::size_t>(e.b)); break;
      case Kind::kOtherLaunch: launch_other(e.a); break;
      case Kind::kDelivery: {
        RCC_RETURN_IF_ERROR(deliver(e.a));
        drained_ms_ = std::max(drained_ms_, timeline_.now_ms());
        break;
      }
      case Kind::kTick: RCC_RETURN_IF_ERROR(tick().status()); break;
      case Kind::kMinute: RCC_RETURN_IF_ERROR(sample_minute(e.a)); break;
    }
    return Status();
  }

  void push(std::int64_t t, Kind kind, std::int64_t a = 0, std::int64_t b = 0) {
    queue_.push(Event{t, next_seq_++, kind, a, b});
  }

  MinuteSample* minute_at(std::int64_t t) {
    const auto minute = static_cast<std::size_t>(t / 60000);
    return minute < result_.minutes.size() ? &result_.minutes[minute] : nullptr;
  }

  // ---- Scale-up ----

  void enqueue(std::int64_t job, int owner) {
    queues_[static_cast<std::size_t>(owner)].push_back(job);
    if (!fire_pending_[static_cast<std::size_t>(owner)]) {
      fire_pending_[static_cast<std::size_t>(owner)] = true;
      push(now_ + options_.batch_window_ms, Kind::kBatchFire, owner);
    }
  }

  Status fire(int owner) {
    auto& queue = queues_[static_cast<std::size_t>(owner)];
    fire_pending_[static_cast<std::size_t>(owner)] = false;
    if (queue.empty()) return Status();
    Decision decision;
    decision.owner = owner;
    while (!queue.empty() && decision.jobs.size() < static_cast<std::size_t>(options_.batch_size)) {
      decision.jobs.push_back(queue.front());
      queue.pop_front();
    }
    if (!queue.empty()) {  // a full batch: the next one is delivered to another invocation right away
      fire_pending_[static_cast<std::size_t>(owner)] = true;
      push(now_, Kind::kBatchFire, owner);
    }

    ++figures_.decisions;
    if (MinuteSample* sample = minute_at(now_)) ++sample->decisions[s_];
    const sim::SimOwner& o = workload_.owners[static_cast<std::size_t>(owner)];
    timeline_.begin(now_);
    if (strategy_ == Strategy::kBaseline) {
      ec2_.set_purpose(Ec2Purpose::kScaleUp);
      const std::vector<Ec2Filter> filters = {
          {"instance-state-name", {"pending", "running"}},
          {"tag:" + std::string(kTagApplication), {std::string(kRunnerApplication)}},
          {"tag:" + std::string(kTagEnvironment), {o.key.environment}},
          {"tag:" + std::string(kTagType), {o.key.type}},
          {"tag:" + std::string(kTagOwner), {o.key.owner}},
      };
      auto listed = ec2_.describe_instances(filters);
      if (listed.ok()) decision.count = count_matching_runners(*listed, o.key);
    } else {
      // The error the table would make here, whatever the reader decides.
      RCC_RETURN_IF_ERROR(sample_count_error(owner));
      ec2_.set_purpose(Ec2Purpose::kReaderFallback);
      if (strategy_ == Strategy::kRegister) return take_slots_for(std::move(decision));
      count_through_reader(decision, o.key);
    }
    finish_decision(std::move(decision), now_);
    return Status();
  }

  // A decision that started at `start_ms` has its count (or failed) at the activity's clock: it launches then.
  void finish_decision(Decision decision, std::int64_t start_ms) {
    const std::int64_t latency_ms = timeline_.now_ms() - start_ms;
    decision_latency_.push_back(static_cast<double>(latency_ms));
    if (!decision.count) ++figures_.failed_decisions;
    decisions_.push_back(std::move(decision));
    push(start_ms + latency_ms, Kind::kLaunch, static_cast<std::int64_t>(decisions_.size() - 1));
  }

  // Counts the key through the reader on the activity's clock; records a fallback.
  void count_through_reader(Decision& decision, const RunnerKey& key) {
    auto answer = reader_->count(key);
    if (!answer.ok()) {
      ++figures_.fallbacks["failed"];
      return;
    }
    decision.count = answer->count;
    decision.from_cache = answer->source == CountSource::kCache;
    if (!decision.from_cache) {
      ++figures_.fallbacks[std::string(reason_name(answer->reason))];
      if (MinuteSample* sample = minute_at(now_)) ++sample->fallbacks[s_];
    }
  }

  // Takes the key's slots as a scale-up does (take_slots: the reader's count, the lease read, the
  // conditional grant), on a fiber of its own: while a lease request is under way the decision is set
  // aside and the activities due meanwhile run (see WaitingEnv, LeaseYieldingStore).
  Status take_slots_for(Decision decision) {
    ++figures_.slots.takes;
    const std::int64_t id = next_taking_++;
    auto taking = std::make_unique<SlotTaking>();
    SlotTaking* t = taking.get();
    const RunnerKey& key = workload_.owners[static_cast<std::size_t>(decision.owner)].key;
    const auto wanted = static_cast<std::int64_t>(decision.jobs.size());
    t->decision = std::move(decision);
    t->start_ms = now_;
    if (idle_fibers_.empty()) {
      fibers_.push_back(std::make_unique<sim::Fiber>());
      idle_fibers_.push_back(fibers_.back().get());
    }
    t->fiber = idle_fibers_.back();
    idle_fibers_.pop_back();
    t->fiber->start([this, t, &key, wanted, holder = "decision-" + std::to_string(id)] {
      t->grant = take_slots(*t->store, *reader_, key, options_.max_runners, wanted, holder, slot_options_,
                            t->waiting.get());
    });
    t->waiting = std::make_unique<WaitingEnv>(timeline_.env(), slot_random_, *t->fiber);
    t->store = std::make_unique<LeaseYieldingStore>(*store_, *t->waiting);
    takings_.emplace(id, std::move(taking));
    return step_slots(id);
  }

  // The response decision `id` waited for arrived (or its pause ended): it goes on.
  Status resume_slots(std::int64_t id) {
    SlotTaking& t = *takings_.at(id);
    timeline_.resume(std::move(t.env));
    ec2_.set_purpose(Ec2Purpose::kReaderFallback);
    return step_slots(id);
  }

  // Runs decision `id`'s take_slots until it waits (then sets it aside until the wait ends) or returns.
  Status step_slots(std::int64_t id) {
    SlotTaking& t = *takings_.at(id);
    if (!t.fiber->resume()) {
      t.env = timeline_.suspend();
      push(t.env->wall_ms(), Kind::kSlotsResume, id);
      return Status();
    }
    const std::unique_ptr<SlotTaking> done = std::move(takings_.at(id));
    takings_.erase(id);
    idle_fibers_.push_back(done->fiber);
    Decision& decision = done->decision;
    Result<SlotGrant>& grant = *done->grant;
    SlotFigures& slots = figures_.slots;
    if (!grant.ok()) {
      if (grant.status().code() == Code::kTimeout) {
        ++slots.timeouts;
        ++figures_.fallbacks["slots busy"];
      } else if (!grant.status().retryable()) {
        return grant.status().with_context("taking slots");
      } else {
        ++figures_.fallbacks["failed"];
      }
      finish_decision(std::move(decision), done->start_ms);
      return Status();
    }
    slots.lease_reads += grant->attempts;
    slots.grant_writes += grant->conflicts + (grant->expires_ms > 0 ? 1 : 0);
    slots.conflicts += grant->conflicts;
    slots.recounts += grant->counts - 1;
    if (grant->conflicts > 0) {
      ++slots.retried;
      retried_takes_.push_back(static_cast<double>(grant->elapsed_ms));
    }
    if (grant->expires_ms == 0) ++slots.nothing_granted;
    decision.count = grant->counted;
    decision.from_cache = grant->count.source == CountSource::kCache;
    if (!decision.from_cache) {
      ++figures_.fallbacks[std::string(reason_name(grant->count.reason))];
      if (MinuteSample* sample = minute_at(done->start_ms)) ++sample->fallbacks[s_];
    }
    decision.grant = std::move(*grant);
    finish_decision(std::move(decision), done->start_ms);
    return Status();
  }

  // The launch request of decision `d` returned: register its instances, then release the slots (at the
  // time the registrations end, so that a decision waiting for the lease meanwhile still finds it held).
  Status register_launched(std::int64_t d) {
    Decision& decision = decisions_[static_cast<std::size_t>(d)];
    if (!decision.grant) return Status();
    SlotFigures& slots = figures_.slots;
    const RunnerKey& key = workload_.owners[static_cast<std::size_t>(decision.owner)].key;
    timeline_.begin(now_);
    std::vector<LaunchedRunner> launches;
    for (std::int64_t index : decision.instances) {
      launches.push_back(LaunchedRunner{fleet_.instance(index).id, key, decision.launched_ms / 1000});
    }
    RegistrationOptions registration;
    registration.environment = options_.environment;
    for (const RegistrationResult& r : register_launches(*store_, launches, registration, timeline_.now_ms())) {
      if (!r.status.ok()) {
        if (!r.status.retryable()) return r.status.with_context("registering " + r.instance_id);
        ++slots.registration_failures;
      } else if (r.outcome == RegistrationOutcome::kRegistered) {
        ++slots.registered;
      } else {
        ++slots.already_known;
      }
    }
    push(timeline_.now_ms(), Kind::kRelease, d);
    return Status();
  }

  Status release(std::int64_t d) {
    Decision& decision = decisions_[static_cast<std::size_t>(d)];
    SlotFigures& slots = figures_.slots;
    timeline_.begin(now_);
    ++slots.releases;
    auto released = release_slots(*store_, *decision.grant, static_cast<std::int64_t>(decision.instances.size()),
                                  slot_options_, timeline_.now_ms());
    if (!released.ok() && !released.status().retryable()) return released.status().with_context("releasing slots");
    if (released.ok() && *released == ReleaseOutcome::kLost) ++slots.lost;
    // The grant was written at expires_ms - lease_ms.
    lease_holds_.push_back(static_cast<double>(timeline_.now_ms() - (decision.grant->expires_ms - options_.slot_lease_ms)));
    decision.grant.reset();
    decision.instances.clear();
    return Status();
  }

  Status sample_count_error(int owner) {
    auto cached = table_->count_active(workload_.owners[static_cast<std::size_t>(owner)].key_str);
    if (!cached.ok()) return cached.status().with_context("measuring the cached count");
    count_errors_.push_back(static_cast<double>(std::llabs(*cached - fleet_.active(owner))));
    return Status();
  }

  Status launch(std::int64_t d) {
    Decision& decision = decisions_[static_cast<std::size_t>(d)];
    std::size_t n = 0;
    if (decision.count) {
      const std::int64_t room = std::max<std::int64_t>(0, options_.max_runners - *decision.count);
      n = std::min<std::size_t>(decision.jobs.size(), static_cast<std::size_t>(room));
    }
    if (n > 0) {
      const std::int64_t after = fleet_.active(decision.owner) + static_cast<std::int64_t>(n);
      if (after > options_.max_runners) {
        ++figures_.over_max;
        if (decision.from_cache) ++figures_.over_max_from_cache;
        figures_.over_max_runners += std::min<std::int64_t>(static_cast<std::int64_t>(n), after - options_.max_runners);
      }
    }
    const sim::SimOwner& owner = workload_.owners[static_cast<std::size_t>(decision.owner)];
    for (std::size_t i = 0; i < decision.jobs.size(); ++i) {
      const std::int64_t job = decision.jobs[i];
      if (i >= n) {
        push(now_ + options_.requeue_delay_ms, Kind::kRequeue, job);
        continue;
      }
      ++figures_.launched;
      job_wait_.push_back(static_cast<double>(now_ - workload_.jobs[static_cast<std::size_t>(job)].arrival_ms));
      const std::int64_t index = fleet_.launch(sim::runner_tags(owner), decision.owner, now_);
      plan_runner(index, job);
      if (decision.grant) decision.instances.push_back(index);
    }
    decision.jobs.clear();
    // A grant of 0 slots wrote nothing: nothing to register or release.
    if (decision.grant && decision.grant->expires_ms == 0) decision.grant.reset();
    if (decision.grant) {
      decision.launched_ms = now_;
      push(now_ + options_.launch_ms, Kind::kRegister, d);
    }
    return Status();
  }

  // ---- The fleet ----

  // Plans the life of a runner launched now for `job`: boot, maybe a failure or a stop/start, the job,
  // termination. The durations come from the job's own stream, the same in both runs.
  void plan_runner(std::int64_t index, std::int64_t job) {
    const std::int64_t attempt = attempts_[job]++;
    SimRandom r(options_.seed, Stream::kJob, static_cast<std::uint64_t>(job), static_cast<std::uint64_t>(attempt));
    auto s = [](double seconds) { return static_cast<std::int64_t>(seconds * 1000); };
    std::vector<Step> steps;
    std::int64_t t = now_;
    emit(index, InstanceState::kPending, t);
    if (r.chance(options_.boot_failure_rate)) {
      t += s(r.uniform(5, 40));
      steps.push_back({t, InstanceState::kShuttingDown});
      push(t, Kind::kRequeue, job);  // the job is still queued at GitHub: the scale-up tries again
      t += s(r.uniform(20, 90));
      steps.push_back({t, InstanceState::kTerminated});
    } else {
      t += s(r.uniform(15, 45));
      steps.push_back({t, InstanceState::kRunning});
      if (r.chance(options_.stop_start_rate)) {
        t += s(r.uniform(30, 240));
        steps.push_back({t, InstanceState::kStopping});
        t += s(r.uniform(10, 40));
        steps.push_back({t, InstanceState::kStopped});
        t += s(r.uniform(60, 600));
        steps.push_back({t, InstanceState::kPending});
        t += s(r.uniform(15, 45));
        steps.push_back({t, InstanceState::kRunning});
      }
      t += s(r.uniform(10, 40));  // the runner registers and picks up the job
      t += s(std::min(4.0 * 3600, r.lognormal(options_.job_median_s, options_.job_sigma)));
      steps.push_back({t, InstanceState::kShuttingDown});
      t += s(r.uniform(20, 90));
      steps.push_back({t, InstanceState::kTerminated});
    }
    schedule_plan(index, std::move(steps));
  }

  void launch_other(std::int64_t k) {
    const sim::SimOtherInstance& other = workload_.others[static_cast<std::size_t>(k)];
    const std::int64_t index = fleet_.launch(other.tags, -1, now_);
    SimRandom r(options_.seed, Stream::kNonRunner, static_cast<std::uint64_t>(k));
    emit(index, InstanceState::kPending, now_);
    std::int64_t t = now_ + static_cast<std::int64_t>(r.uniform(15000, 45000));
    std::vector<Step> steps{{t, InstanceState::kRunning}};
    t += other.lifetime_ms;
    steps.push_back({t, InstanceState::kShuttingDown});
    t += static_cast<std::int64_t>(r.uniform(20000, 90000));
    steps.push_back({t, InstanceState::kTerminated});
    schedule_plan(index, std::move(steps));
  }

  void schedule_plan(std::int64_t index, std::vector<Step> steps) {
    if (plans_.size() <= static_cast<std::size_t>(index)) plans_.resize(static_cast<std::size_t>(index) + 1);
    for (std::size_t i = 0; i < steps.size(); ++i) push(steps[i].t, Kind::kTransition, index, static_cast<std::int64_t>(i));
    plans_[static_cast<std::size_t>(index)] = std::move(steps);
  }

  void transition(std::int64_t index, std::size_t step) {
    const InstanceState state = plans_[static_cast<std::size_t>(index)][step].state;
    fleet_.transition(index, state, now_);
    emit(index, state, now_);
    if (state == InstanceState::kTerminated) plans_[static_cast<std::size_t>(index)].clear();
  }

  // ---- EventBridge and the counter ----

  // EC2 emits the state change; EventBridge delivers it (late, twice, or never).
  void emit(std::int64_t index, InstanceState state, std::int64_t t) {
    if (!keeps_table()) return;  // the baseline account runs no counter
    CounterFigures& counter = figures_.counter;
    ++counter.events;
    if (delivery_random_.chance(options_.drop_rate)) {
      ++counter.dropped;
      return;
    }
    InstanceEvent event{fleet_.instance(index).id, state, t / 1000, "event-" + std::to_string(counter.events)};
    const int copies = delivery_random_.chance(options_.duplicate_rate) ? 2 : 1;
    if (copies == 2) ++counter.duplicates;
    for (int c = 0; c < copies; ++c) {
      const auto latency = static_cast<std::int64_t>(
          delivery_random_.lognormal(options_.delivery_median_ms, options_.delivery_sigma));
      deliveries_.push_back(Delivery{event, 0});
      push(t + latency, Kind::kDelivery, static_cast<std::int64_t>(deliveries_.size() - 1));
    }
  }

  // One invocation of the counter function with the delivery's EventBridge JSON.
  Status deliver(std::int64_t d) {
    const Delivery delivery = deliveries_[static_cast<std::size_t>(d)];
    CounterFigures& counter = figures_.counter;
    ++counter.deliveries;
    timeline_.begin(now_);
    ec2_.set_purpose(Ec2Purpose::kTagLookup);
    auto handled = function_->handle("delivery-" + std::to_string(d), format_instance_event(delivery.event));
    invocation_latency_.push_back(static_cast<double>(timeline_.now_ms() - now_));
    if (handled.ok()) return Status();
    // Lambda retries every failed invocation; a failure no retry can cure (a broken store) stops the run.
    if (!handled.status().retryable()) {
      return handled.status().with_context("the counter failed on " + delivery.event.instance_id);
    }
    ++counter.failed_invocations;
    if (delivery.attempt >= options_.lambda_retries) {
      ++counter.dead_lettered;
      return Status();
    }
    Delivery retry{delivery.event, delivery.attempt + 1};
    deliveries_.push_back(retry);
    push(now_ + options_.lambda_retry_delay_ms * retry.attempt, Kind::kDelivery,
         static_cast<std::int64_t>(deliveries_.size() - 1));
    return Status();
  }

  // One invocation of the counter function with a schedule tick's JSON: the heartbeat and, when due, a
  // reconcile. Returns whether it reconciled; a failure the next tick may cure is counted, not returned.
  Result<bool> tick() {
    CounterFigures& counter = figures_.counter;
    ++counter.ticks;
    timeline_.begin(now_);
    ec2_.set_purpose(Ec2Purpose::kReconcile);
    auto body = function_->handle("tick-" + std::to_string(counter.ticks), scheduled_event_json(counter.ticks, now_));
    if (!body.ok()) {
      if (!body.status().retryable()) return body.status().with_context("schedule tick");
      ++counter.failed_ticks;
      return false;
    }
    const auto j = nlohmann::json::parse(*body, nullptr, false);
    if (!j.is_object() || !j.contains("reconciled")) return Status::Internal("schedule tick answered " + *body);
    if (j["reconciled"] != 1) return false;
    ++counter.reconciles;
    counter.reconcile_added += j.value("added", std::int64_t{0});
    counter.reconcile_removed += j.value("removed", std::int64_t{0});
    return true;
  }

  // Quiescence: the fleet is frozen and every delivery and retry has run by `drained_ms`; the schedule
  // goes on ticking until the first reconcile that starts after the grace window has passed.
  Status quiesce(std::int64_t drained_ms) {
    const std::int64_t ticks_allowed = options_.reconcile_interval_s * 1000 / options_.tick_interval_ms + 20;
    now_ = drained_ms + simulation_grace_ms() + 1000;
    for (std::int64_t i = 0; i < ticks_allowed; ++i, now_ += options_.tick_interval_ms) {
      auto reconciled = tick();
      if (!reconciled.ok()) return reconciled.status();
      if (*reconciled) return Status();
    }
    return Status::Unavailable("no reconcile succeeded in " + std::to_string(ticks_allowed) +
                               " schedule ticks after the window");
  }

  // ---- Measurements ----

  Status sample_minute(std::int64_t m) {
    MinuteSample& sample = result_.minutes[static_cast<std::size_t>(m)];
    sample.true_active[s_] = fleet_.active_total();
    if (!keeps_table()) return Status();
    auto listed = table_->list_active(env_prefix_);
    if (!listed.ok()) return listed.status().with_context("measuring the cached total");
    sample.cached_active[s_] = static_cast<std::int64_t>(listed->size());
    return Status();
  }

  Status final_error() {
    auto listed = table_->list_active(env_prefix_);
    if (!listed.ok()) return listed.status().with_context("measuring the final count");
    std::map<std::string, std::int64_t> cached;
    for (const auto& entry : *listed) ++cached[entry.active_key];
    std::int64_t error = 0;
    for (std::size_t o = 0; o < workload_.owners.size(); ++o) {
      const auto it = cached.find(workload_.owners[o].key_str);
      const std::int64_t c = it == cached.end() ? 0 : it->second;
      if (it != cached.end()) cached.erase(it);
      error += std::llabs(c - fleet_.active(static_cast<int>(o)));
    }
    for (const auto& [key, c] : cached) error += c;  // keys no owner has
    figures_.count_error.final = error;
    figures_.count_error.final_true_active = fleet_.active_total();
    return Status();
  }

  void finish_table_figures() {
    CountErrorFigures& e = figures_.count_error;
    e.samples = static_cast<std::int64_t>(count_errors_.size());
    double sum = 0;
    for (double v : count_errors_) {
      sum += v;
      if (v == 0) ++e.exact_samples;
    }
    e.mean_abs = count_errors_.empty() ? 0 : sum / static_cast<double>(count_errors_.size());
    if (!count_errors_.empty()) {
      e.max = static_cast<std::int64_t>(*std::max_element(count_errors_.begin(), count_errors_.end()));
      e.p99 = static_cast<std::int64_t>(percentile(count_errors_, 0.99));
    }
    figures_.counter.tag_lookups = tags_->lookups();
    figures_.counter.invocation_latency = latency_figures(std::move(invocation_latency_));
    DynamoFigures& d = figures_.dynamo;
    d.read_units = metered_->read_units();
    d.write_units = metered_->write_units();
    d.reads = metered_->reads();
    d.writes = metered_->writes();
    const double dollars = (d.write_units * options_.price_per_million_wru + d.read_units * options_.price_per_million_rru) / 1e6;
    d.monthly_cost_usd = dollars * 730.0 / options_.hours;
  }

  void finish_strategy_figures() {
    const sim::Ec2Tally& tally = ec2_.tally();
    for (int p = 0; p < sim::kEc2Purposes; ++p) {
      figures_.ec2_calls += tally.requests[p];
      figures_.ec2_throttled += tally.throttled[p];
    }
    figures_.ec2_by_id_calls = tally.by_id_requests;
    figures_.ec2_filtered_calls = figures_.ec2_calls - tally.by_id_requests;
    figures_.ec2_busy_s = static_cast<double>(tally.busy_ms) / 1000.0;
    figures_.decision_latency = latency_figures(std::move(decision_latency_));
    figures_.job_wait = latency_figures(std::move(job_wait_));
    figures_.slots.retried_take = latency_figures(std::move(retried_takes_));
    figures_.slots.hold = latency_figures(std::move(lease_holds_));
    for (std::int64_t m = 0; m < minutes_; ++m) {
      const sim::Ec2MinuteLoad& load = ec2_per_minute_[static_cast<std::size_t>(m)];
      MinuteSample::Ec2Load& out = result_.minutes[static_cast<std::size_t>(m)].ec2[s_];
      out.requests = load.requests;
      out.listings = load.listings;
      out.busy_s = static_cast<double>(load.busy_ms) / 1000.0;
    }
  }

  Strategy strategy_;
  int s_;  // the strategy's index in the per-strategy figures
  const SimulationOptions& options_;
  const sim::Workload& workload_;
  SimulationResult& result_;
  StrategyFigures& figures_;
  const std::function<void(double)>& progress_;
  std::int64_t minutes_;
  std::vector<sim::Ec2MinuteLoad> ec2_per_minute_;
  sim::Timeline timeline_;
  SimFleet fleet_;
  SimEc2 ec2_;
  SimRandom delivery_random_;
  SimRandom slot_random_;  // the jitter of decisions waiting for a slot lease
  SlotOptions slot_options_;
  Store* table_ = nullptr;                          // the table itself: the simulator's own measurements
  std::unique_ptr<sim::MeteredStore> metered_;      // billed ...
  std::unique_ptr<sim::LatencyStore> store_;        // ... and timed: what the function and the reader use
  std::unique_ptr<Ec2TagSource> ec2_tags_;
  std::unique_ptr<CountingTagSource> tags_;
  std::unique_ptr<CounterFunction> function_;
  std::unique_ptr<RunnerCountReader> reader_;

  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::uint64_t next_seq_ = 0;
  std::int64_t now_ = 0;
  std::int64_t drained_ms_ = 0;  // when the last delivery's invocation ended
  std::int64_t next_taking_ = 0;  // the id (and lease holder id) of the next decision taking slots

  std::vector<std::deque<std::int64_t>> queues_;  // queued jobs per owner
  std::vector<bool> fire_pending_;
  std::vector<Decision> decisions_;
  std::map<std::int64_t, std::int64_t> attempts_;  // launches per job
  std::vector<std::vector<Step>> plans_;
  std::deque<Delivery> deliveries_;
  std::string env_prefix_;
  Logger log_;
  Metrics metrics_;

  std::vector<double> decision_latency_;
  std::vector<double> job_wait_;
  std::vector<double> count_errors_;
  std::vector<double> invocation_latency_;
  std::vector<double> retried_takes_;
  std::vector<double> lease_holds_;
  std::map<std::int64_t, std::unique_ptr<SlotTaking>> takings_;  // decisions taking slots, by id
  std::vector<sim::Fiber*> idle_fibers_;
  std::vector<std::unique_ptr<sim::Fiber>> fibers_;  // last: a body still running ends before the rest goes
};

}  // namespace

std::string_view strategy_name(SimStrategy strategy) {
  switch (strategy) {
    case SimStrategy::kBaseline: return "baseline";
    case SimStrategy::kCache: return "cache";
    case SimStrategy::kRegister: return "register";
  }
  return "unknown";
}

Result<SimStrategy> parse_strategy(std::string_view name) {
  for (SimStrategy s : {SimStrategy::kBaseline, SimStrategy::kCache, SimStrategy::kRegister}) {
    if (name == strategy_name(s)) return s;
  }
  return Status::InvalidArgument("unknown strategy '" + std::string(name) + "' (baseline, cache, register)");
}

std::int64_t simulation_grace_ms() { return ReconcileOptions{}.grace_ms; }

Status validate_simulation_options(const SimulationOptions& o) {
  auto bad = [](std::string what) { return Status::InvalidArgument(std::move(what)); };
  if (o.runners_per_day < 1 || o.runners_per_day > 5'000'000) return bad("runners-per-day must be in 1..5000000");
  if (!(o.hours > 0 && o.hours <= 24 * 14)) return bad("hours must be > 0 and <= 336");
  if (o.owners < 1 || o.owners > 10000) return bad("owners must be in 1..10000");
  auto share = [](double v) { return v >= 0 && v <= 1; };
  if (!share(o.repo_owner_share)) return bad("repo-owner-share must be in [0, 1]");
  if (!(o.non_runner_share >= 0 && o.non_runner_share < 1)) return bad("non-runner-share must be in [0, 1)");
  if (!share(o.burst_share)) return bad("burst-share must be in [0, 1]");
  if (o.bursts_per_day < 0) return bad("bursts-per-day must be >= 0");
  if (!(o.job_median_s > 0) || !(o.job_sigma >= 0)) return bad("job-median-s must be > 0 and job-sigma >= 0");
  if (!share(o.boot_failure_rate) || !share(o.stop_start_rate)) return bad("boot-failure-rate and stop-start-rate must be in [0, 1]");
  if (o.max_runners < 1) return bad("max-runners must be >= 1");
  if (o.batch_window_ms < 0) return bad("batch-window must be >= 0");
  if (o.batch_size < 1) return bad("batch-size must be >= 1");
  if (o.requeue_delay_ms < 1) return bad("requeue-delay must be > 0");
  if (o.launch_ms < 0) return bad("launch-ms must be >= 0");
  if (o.strategies.empty()) return bad("strategies: name at least one of baseline, cache, register");
  for (std::size_t i = 0; i < o.strategies.size(); ++i) {
    for (std::size_t k = 0; k < i; ++k) {
      if (o.strategies[k] == o.strategies[i]) {
        return bad("strategies: " + std::string(strategy_name(o.strategies[i])) + " named twice");
      }
    }
  }
  SlotOptions slots;
  slots.lease_ms = o.slot_lease_ms;
  slots.settle_ms = o.slot_settle_ms;
  slots.wait_ms = o.slot_wait_ms;
  if (Status s = validate_slot_options(slots); !s.ok()) return bad("slot options: " + s.message());
  if (!(o.ec2_burst >= 1) || !(o.ec2_refill_per_s > 0)) return bad("ec2-burst must be >= 1 and ec2-refill-per-s > 0");
  if (o.ec2_base_ms < 0 || o.ec2_per_instance_ms < 0 || o.ec2_per_result_ms < 0 || o.ec2_jitter_sigma < 0) {
    return bad("the EC2 latency parameters must be >= 0");
  }
  if (!(o.ec2_by_id_min_ms >= 0 && o.ec2_by_id_max_ms >= o.ec2_by_id_min_ms)) {
    return bad("ec2-by-id latency needs 0 <= min <= max");
  }
  if (o.ec2_visibility_mean_ms < 0) return bad("ec2-visibility-mean-ms must be >= 0");
  if (o.ec2_max_attempts < 1) return bad("ec2-max-attempts must be >= 1");
  if (o.ec2_backoff_base_ms < 0 || o.ec2_backoff_cap_ms < 0) return bad("the EC2 backoff must be >= 0");
  if (!(o.delivery_median_ms > 0) || !(o.delivery_sigma >= 0)) return bad("delivery-median-ms must be > 0, delivery-sigma >= 0");
  if (!share(o.duplicate_rate) || !share(o.drop_rate)) return bad("duplicate-rate and drop-rate must be in [0, 1]");
  if (o.lambda_retry_delay_ms < 1 || o.lambda_retries < 0) return bad("lambda retries need delay > 0 and count >= 0");
  if (o.environment.empty()) return bad("environment must not be empty");
  if (o.tick_interval_ms < 1000) return bad("tick interval must be >= 1 s");
  if (o.reconcile_interval_s < 1) return bad("reconcile-interval-s must be >= 1");
  if (o.stale_threshold_ms < 0) return bad("stale-threshold-ms must be >= 0");
  if (!(o.dynamo_min_ms >= 0 && o.dynamo_max_ms >= o.dynamo_min_ms)) {
    return bad("dynamodb latency needs 0 <= min <= max");
  }
  if (o.price_per_million_wru < 0 || o.price_per_million_rru < 0) return bad("prices must be >= 0");
  return Status();
}

Result<SimulationResult> run_simulation(const SimulationOptions& options, Store& cache_store, Store& register_store,
                                        const SimulationProgress& progress) {
  RCC_RETURN_IF_ERROR(validate_simulation_options(options));
  if (&cache_store == &register_store) return Status::InvalidArgument("the cache and register runs need two tables");
  const sim::Workload workload = sim::make_workload(options);
  SimulationResult result;
  result.options = options;
  // Share of the progress per run: a run that keeps a table takes about twice the baseline's time.
  double total = 0;
  for (Strategy s : options.strategies) total += keeps_table(s) ? 2 : 1;
  double done = 0;
  for (Strategy s : options.strategies) {
    Store* table = s == Strategy::kCache ? &cache_store : s == Strategy::kRegister ? &register_store : nullptr;
    const double share = (keeps_table(s) ? 2 : 1) / total;
    Run run(s, options, workload, table, result, progress);
    RCC_RETURN_IF_ERROR(run.run(done, done + share).with_context(std::string(strategy_name(s)) + " run"));
    done += share;
  }
  return result;
}

}  // namespace rcc
