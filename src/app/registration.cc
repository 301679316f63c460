#include "rcc/registration.h"

#include <algorithm>

#include "rcc/instance.h"

namespace rcc {

std::string_view registration_outcome_name(RegistrationOutcome outcome) {
  switch (outcome) {
    case RegistrationOutcome::kRegistered: return "registered";
    case RegistrationOutcome::kAlreadyKnown: return "already_known";
  }
  return "unknown";
}

Status validate_launch(const LaunchedRunner& launch, const RegistrationOptions& options) {
  if (launch.instance_id.empty()) return Status::InvalidArgument("launch without an instance id");
  if (launch.instance_id.front() == '#') {
    return Status::InvalidArgument("instance id " + launch.instance_id + " starts with '#'");
  }
  if (Status s = validate_runner_key(launch.key); !s.ok()) {
    return Status::InvalidArgument("instance " + launch.instance_id + ": " + s.message());
  }
  if (!options.environment.empty() && launch.key.environment != options.environment) {
    return Status::InvalidArgument("instance " + launch.instance_id + ": environment " + launch.key.environment +
                                   " is not the counter's environment " + options.environment);
  }
  if (launch.launch_time_s <= 0) {
    return Status::InvalidArgument("instance " + launch.instance_id + ": launch time must be > 0 (epoch seconds)");
  }
  return Status();
}

std::vector<RegistrationResult> register_launches(Store& store, const std::vector<LaunchedRunner>& launches,
                                                  const RegistrationOptions& options, std::int64_t now_ms) {
  std::vector<RegistrationResult> results;
  results.reserve(launches.size());
  for (const LaunchedRunner& launch : launches) {
    RegistrationResult& result = results.emplace_back();
    result.instance_id = launch.instance_id;
    result.status = validate_launch(launch, options);
    if (!result.status.ok()) continue;
    // An active runner item never expires, so the TTL argument is unused; 0 keeps that visible.
    auto written = store.apply(make_transition(WriteMode::kCreateOnly, launch.instance_id, InstanceState::kPending,
                                               launch.launch_time_s, now_ms, /*ttl_seconds=*/0,
                                               InstanceIdentity{true, launch.key}));
    if (!written.ok()) {
      result.status = written.status().with_context("registering " + launch.instance_id);
      continue;
    }
    result.outcome =
        *written == WriteOutcome::kApplied ? RegistrationOutcome::kRegistered : RegistrationOutcome::kAlreadyKnown;
  }
  return results;
}

std::int64_t count_failures(const std::vector<RegistrationResult>& results) {
  return std::count_if(results.begin(), results.end(), [](const RegistrationResult& r) { return !r.status.ok(); });
}

}  // namespace rcc
