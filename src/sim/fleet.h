// The simulated account: the fleet of EC2 instances (ground truth) and the EC2 API over it.
//
// SimFleet holds every instance the simulated account ever launched, its state and tags, and the true
// active count of every runner key at every instant. SimEc2 answers DescribeInstances over that fleet as
// rcc::Ec2, in virtual time: each request takes a token from the account's non-mutating token bucket,
// throttled requests are retried after a capped exponential backoff with full jitter, and every request
// advances the calling activity's virtual clock (its Timeline) by its modelled latency.
//
// Latency model of one DescribeInstances request (one page):
//   filtered: (base_ms + per_instance_ms * V + per_result_ms * R) * J
//   by id:    uniform(by_id_min_ms, by_id_max_ms)
// V is the number of instances the account lists (every instance not terminated, plus those terminated
// within the last hour, which EC2 keeps listing), R the instances on the page, and J a lognormal jitter with
// median 1 and shape jitter_sigma. A new instance is invisible to DescribeInstances for an exponential time
// (mean visibility_mean_ms) after launch: EC2's API is eventually consistent.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_bucket.h"
#include "sim/random.h"
#include "rcc/ec2.h"
#include "rcc/event.h"
#include "rcc/runner.h"
#include "sim/simulation.h"
#include "sim/timeline.h"

namespace rcc::sim {

// The id of the n-th instance of a run: "i-" and 17 hex digits.
std::string instance_id_of(std::int64_t n);
// The inverse of instance_id_of; -1 when `id` is not one of ours.
std::int64_t instance_index_of(std::string_view id);

struct SimInstance {
  std::string id;
  InstanceState state = InstanceState::kPending;
  Tags tags;
  int owner = -1;                  // index of the owner for runners of the environment, else -1
  std::int64_t launch_ms = 0;      // the last launch or start
  std::int64_t visible_ms = 0;     // DescribeInstances sees the instance from then on
  std::int64_t terminated_ms = -1;
};

class SimFleet {
 public:
  // `owner_keys[i]` is the key string of owner i; `owner_names[i]` its ghr:Owner tag value.
  SimFleet(std::vector<std::string> owner_keys, std::int64_t visibility_mean_ms, std::uint64_t seed);

  // Launches an instance at `now_ms` in state pending; returns its index.
  std::int64_t launch(Tags tags, int owner, std::int64_t now_ms);
  // Moves instance `index` to `state` at `now_ms`, keeping every count and index in step.
  void transition(std::int64_t index, InstanceState state, std::int64_t now_ms);

  const SimInstance& instance(std::int64_t index) const { return instances_[static_cast<std::size_t>(index)]; }
  std::int64_t size() const { return static_cast<std::int64_t>(instances_.size()); }

  // The true active count of owner `owner`, and of the whole environment.
  std::int64_t active(int owner) const { return active_by_owner_[static_cast<std::size_t>(owner)]; }
  std::int64_t active_total() const { return active_total_; }
  const std::vector<std::string>& owner_keys() const { return owner_keys_; }

  // Instances the account lists at `now_ms` (the V of the latency model).
  std::int64_t listed(std::int64_t now_ms);

  // Indices of instances not terminated, in index order; and those whose ghr:Owner tag is `owner_tag`.
  const std::set<std::int64_t>& live() const { return live_; }
  const std::set<std::int64_t>* live_with_owner_tag(std::string_view owner_tag) const;

 private:
  std::vector<std::string> owner_keys_;
  std::int64_t visibility_mean_ms_;
  SimRandom visibility_random_;
  std::vector<SimInstance> instances_;
  std::vector<std::int64_t> active_by_owner_;
  std::int64_t active_total_ = 0;
  std::set<std::int64_t> live_;
  std::map<std::string, std::set<std::int64_t>, std::less<>> live_by_owner_tag_;
  std::deque<std::int64_t> terminations_ms_;  // recent terminations, oldest first
};

// What a DescribeInstances request was made for: the figures are kept per purpose.
enum class Ec2Purpose { kScaleUp, kReaderFallback, kTagLookup, kReconcile };
inline constexpr int kEc2Purposes = 4;

struct Ec2Tally {
  std::int64_t requests[kEc2Purposes] = {};   // every request sent, pages and throttled attempts included
  std::int64_t throttled[kEc2Purposes] = {};  // requests answered RequestLimitExceeded
  std::int64_t by_id_requests = 0;            // of which by instance id (the rest are filtered listings)
  std::int64_t failed_calls = 0;              // calls that gave up after max_attempts throttled answers
  std::int64_t busy_ms = 0;                   // total modelled latency of the requests
};

// EC2 load of one minute of virtual time, by the minute a request was sent.
struct Ec2MinuteLoad {
  std::int64_t requests = 0;  // every request, throttled attempts included
  std::int64_t listings = 0;  // of which filtered listings (the slow kind)
  std::int64_t busy_ms = 0;   // modelled latency of those requests
};

class SimEc2 : public Ec2 {
 public:
  // Requests run on `timeline`'s clock (which must outlive this object). `per_minute` receives the load of
  // each request at the minute it was sent (may be null).
  SimEc2(SimFleet& fleet, const SimulationOptions& options, std::uint64_t seed, Timeline& timeline,
         std::vector<Ec2MinuteLoad>* per_minute);

  // Whom the next requests are made for.
  void set_purpose(Ec2Purpose purpose) { purpose_ = purpose; }

  Result<Ec2Instance> describe_instance(std::string_view instance_id) override;
  Result<std::vector<Ec2Instance>> describe_instances(const std::vector<Ec2Filter>& filters) override;
  std::int64_t requests_sent() const override { return requests_sent_; }

  const Ec2Tally& tally() const { return tally_; }

 private:
  // Takes a token for one request at the clock, retrying with backoff while throttled. Returns false when
  // every attempt was throttled.
  bool send_request(bool by_id);
  // Whether `instance` passes every filter at `clock_ms`.
  bool matches(const SimInstance& instance, const std::vector<Ec2Filter>& filters, std::int64_t clock_ms) const;
  Ec2Instance view(const SimInstance& instance) const;
  // Charges `ms` of modelled latency to the tally and to the minute of the last request sent.
  void charge(std::int64_t ms);

  SimFleet& fleet_;
  const SimulationOptions& options_;
  SimRandom random_;
  std::vector<Ec2MinuteLoad>* per_minute_;
  Ec2MinuteLoad* current_minute_ = nullptr;  // the minute of the last request sent, when tracked
  Timeline& timeline_;
  Ec2Purpose purpose_ = Ec2Purpose::kScaleUp;
  TokenBucket bucket_;  // the account's non-mutating request bucket, on the virtual clock
  std::int64_t requests_sent_ = 0;
  Ec2Tally tally_;
};

}  // namespace rcc::sim
