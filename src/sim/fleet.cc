#include "sim/fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <limits>

#include "core/ec2_filter.h"

namespace rcc::sim {
namespace {

// EC2 keeps listing a terminated instance for about an hour.
constexpr std::int64_t kTerminatedListedMs = 3600 * 1000;
constexpr std::size_t kMaxResults = 1000;
constexpr std::int64_t kIdBase = 0x0a00000000000000LL;

const Ec2Filter* find_filter(const std::vector<Ec2Filter>& filters, std::string_view name) {
  for (const auto& f : filters) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The filter named `name` when none of its values has a wildcard, else null.
const Ec2Filter* exact_filter(const std::vector<Ec2Filter>& filters, std::string_view name) {
  const Ec2Filter* f = find_filter(filters, name);
  if (f == nullptr || std::any_of(f->values.begin(), f->values.end(), has_ec2_wildcard)) return nullptr;
  return f;
}

}  // namespace

std::string instance_id_of(std::int64_t n) {
  char text[24];
  std::snprintf(text, sizeof text, "i-%017llx", static_cast<unsigned long long>(kIdBase + n));
  return text;
}

std::int64_t instance_index_of(std::string_view id) {
  if (id.size() != 19 || !id.starts_with("i-0")) return -1;  // 16 significant hex digits at most
  // Unsigned: 16 hex digits fill 64 bits, and a signed accumulator would overflow (undefined) past 2^63.
  std::uint64_t value = 0;
  for (char c : id.substr(2)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return -1;
    }
    value = value * 16 + static_cast<std::uint64_t>(digit);
  }
  const auto base = static_cast<std::uint64_t>(kIdBase);
  if (value < base || value - base > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return -1;
  return static_cast<std::int64_t>(value - base);
}

SimFleet::SimFleet(std::vector<std::string> owner_keys, std::int64_t visibility_mean_ms, std::uint64_t seed)
    : owner_keys_(std::move(owner_keys)),
      visibility_mean_ms_(visibility_mean_ms),
      visibility_random_(seed, Stream::kEc2, 1),
      active_by_owner_(owner_keys_.size(), 0) {}

std::int64_t SimFleet::launch(Tags tags, int owner, std::int64_t now_ms) {
  const auto index = static_cast<std::int64_t>(instances_.size());
  SimInstance instance;
  instance.id = instance_id_of(index);
  instance.tags = std::move(tags);
  instance.owner = owner;
  instance.launch_ms = now_ms;
  instance.visible_ms =
      now_ms + static_cast<std::int64_t>(visibility_random_.exponential(static_cast<double>(visibility_mean_ms_)));
  instance.state = InstanceState::kPending;
  if (auto it = instance.tags.find(kTagOwner); it != instance.tags.end()) live_by_owner_tag_[it->second].insert(index);
  instances_.push_back(std::move(instance));
  live_.insert(index);
  if (owner >= 0) ++active_by_owner_[static_cast<std::size_t>(owner)];
  if (owner >= 0) ++active_total_;
  return index;
}

void SimFleet::transition(std::int64_t index, InstanceState state, std::int64_t now_ms) {
  SimInstance& instance = instances_[static_cast<std::size_t>(index)];
  const bool was_active = is_active(instance.state);
  const bool now_active = is_active(state);
  if (instance.owner >= 0 && was_active != now_active) {
    const std::int64_t delta = now_active ? 1 : -1;
    active_by_owner_[static_cast<std::size_t>(instance.owner)] += delta;
    active_total_ += delta;
  }
  if (state == InstanceState::kPending && !was_active) instance.launch_ms = now_ms;  // a start after a stop
  instance.state = state;
  if (state == InstanceState::kTerminated) {
    instance.terminated_ms = now_ms;
    live_.erase(index);
    if (auto it = instance.tags.find(kTagOwner); it != instance.tags.end()) {
      auto set = live_by_owner_tag_.find(it->second);
      set->second.erase(index);
    }
    terminations_ms_.push_back(now_ms);
  }
}

std::int64_t SimFleet::listed(std::int64_t now_ms) {
  while (!terminations_ms_.empty() && terminations_ms_.front() < now_ms - kTerminatedListedMs) {
    terminations_ms_.pop_front();
  }
  return static_cast<std::int64_t>(live_.size() + terminations_ms_.size());
}

const std::set<std::int64_t>* SimFleet::live_with_owner_tag(std::string_view owner_tag) const {
  const auto it = live_by_owner_tag_.find(owner_tag);
  return it == live_by_owner_tag_.end() ? nullptr : &it->second;
}

SimEc2::SimEc2(SimFleet& fleet, const SimulationOptions& options, std::uint64_t seed, Timeline& timeline,
               std::vector<Ec2MinuteLoad>* per_minute)
    : fleet_(fleet),
      options_(options),
      random_(seed, Stream::kEc2, 2),
      per_minute_(per_minute),
      timeline_(timeline),
      bucket_(options.ec2_burst, options.ec2_refill_per_s, 0) {}

bool SimEc2::send_request(bool by_id) {
  const int p = static_cast<int>(purpose_);
  for (int attempt = 0;; ++attempt) {
    const std::int64_t clock_ms = timeline_.now_ms();
    ++requests_sent_;
    ++tally_.requests[p];
    if (by_id) ++tally_.by_id_requests;
    current_minute_ = nullptr;
    if (per_minute_ != nullptr) {
      const auto minute = static_cast<std::size_t>(std::max<std::int64_t>(0, clock_ms / 60000));
      if (minute < per_minute_->size()) {
        current_minute_ = &(*per_minute_)[minute];
        ++current_minute_->requests;
        if (!by_id) ++current_minute_->listings;
      }
    }
    // Callers interleave in virtual time: a clock behind the bucket's is charged at the bucket's time.
    if (bucket_.take(clock_ms)) return true;
    ++tally_.throttled[p];
    // RequestLimitExceeded comes back quickly; then capped exponential backoff with full jitter.
    const double cap = std::min(options_.ec2_backoff_cap_ms, options_.ec2_backoff_base_ms * std::ldexp(1.0, attempt));
    const auto wait = static_cast<std::int64_t>(50 + random_.uniform(0, cap));
    timeline_.advance(wait);
    charge(50);
    if (attempt + 1 >= options_.ec2_max_attempts) {
      ++tally_.failed_calls;
      return false;
    }
  }
}

bool SimEc2::matches(const SimInstance& instance, const std::vector<Ec2Filter>& filters, std::int64_t clock_ms) const {
  if (clock_ms < instance.visible_ms) return false;
  if (instance.state == InstanceState::kTerminated && instance.terminated_ms < clock_ms - kTerminatedListedMs) {
    return false;
  }
  return ec2_filters_match(filters, Ec2FilterSubject{instance.id, instance.state, instance.tags});
}

void SimEc2::charge(std::int64_t ms) {
  tally_.busy_ms += ms;
  if (current_minute_ != nullptr) current_minute_->busy_ms += ms;
}

Ec2Instance SimEc2::view(const SimInstance& instance) const {
  return Ec2Instance{instance.id, instance.state, instance.tags, instance.launch_ms};
}

Result<Ec2Instance> SimEc2::describe_instance(std::string_view instance_id) {
  if (!send_request(true)) return Status::Throttled("RequestLimitExceeded: Request limit exceeded.");
  const double latency = random_.uniform(options_.ec2_by_id_min_ms, options_.ec2_by_id_max_ms);
  timeline_.advance(static_cast<std::int64_t>(latency));
  charge(static_cast<std::int64_t>(latency));
  const std::int64_t index = instance_index_of(instance_id);
  if (index < 0 || index >= fleet_.size() || !matches(fleet_.instance(index), {}, timeline_.now_ms())) {
    return Status::NotFound("InvalidInstanceID.NotFound: The instance ID '" + std::string(instance_id) +
                            "' does not exist");
  }
  return view(fleet_.instance(index));
}

Result<std::vector<Ec2Instance>> SimEc2::describe_instances(const std::vector<Ec2Filter>& filters) {
  if (Status s = check_ec2_filters(filters); !s.ok()) return s;
  // The answer reflects the fleet when the call starts.
  const std::int64_t clock_ms = timeline_.now_ms();
  const std::int64_t listed = fleet_.listed(clock_ms);
  std::vector<std::int64_t> hits;
  // The indexes below hold exact ids and owner tags: a filter with a wildcard value scans instead.
  const Ec2Filter* ids = exact_filter(filters, "instance-id");
  const Ec2Filter* states = find_filter(filters, "instance-state-name");
  const bool live_only =
      states != nullptr && std::none_of(states->values.begin(), states->values.end(), [](const std::string& v) {
        return ec2_wildcard_match(v, state_name(InstanceState::kTerminated));
      });
  const Ec2Filter* owner = exact_filter(filters, "tag:" + std::string(kTagOwner));
  auto consider = [&](std::int64_t index) {
    if (matches(fleet_.instance(index), filters, clock_ms)) hits.push_back(index);
  };
  if (ids != nullptr) {
    for (const auto& id : ids->values) {
      const std::int64_t index = instance_index_of(id);
      if (index >= 0 && index < fleet_.size()) consider(index);
    }
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  } else if (owner != nullptr) {
    for (const auto& name : owner->values) {
      const auto* set = fleet_.live_with_owner_tag(name);
      if (set == nullptr) continue;
      for (std::int64_t index : *set) consider(index);
    }
    // Terminated instances are not in the owner index; with a state filter that wants them, scan all.
    if (!live_only) {
      hits.clear();
      for (std::int64_t i = 0; i < fleet_.size(); ++i) consider(i);
    }
    std::sort(hits.begin(), hits.end());
  } else if (live_only) {
    for (std::int64_t index : fleet_.live()) consider(index);
  } else {
    for (std::int64_t i = 0; i < fleet_.size(); ++i) consider(i);
  }

  std::vector<Ec2Instance> out;
  out.reserve(hits.size());
  std::size_t next = 0;
  do {
    if (!send_request(ids != nullptr)) return Status::Throttled("RequestLimitExceeded: Request limit exceeded.");
    const std::size_t page = std::min(kMaxResults, hits.size() - next);
    double latency;
    if (ids != nullptr) {
      latency = random_.uniform(options_.ec2_by_id_min_ms, options_.ec2_by_id_max_ms);
    } else {
      latency = (options_.ec2_base_ms + options_.ec2_per_instance_ms * static_cast<double>(listed) +
                 options_.ec2_per_result_ms * static_cast<double>(page)) *
                random_.lognormal(1.0, options_.ec2_jitter_sigma);
    }
    timeline_.advance(static_cast<std::int64_t>(latency));
    charge(static_cast<std::int64_t>(latency));
    for (std::size_t i = next; i < next + page; ++i) out.push_back(view(fleet_.instance(hits[i])));
    next += page;
  } while (next < hits.size());
  return out;
}

}  // namespace rcc::sim
