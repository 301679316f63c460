// Runner identity: which EC2 instances are runners and which key they are counted under
// (docs/table-contract.md).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/status.h"

namespace rcc {

// EC2 tags of one instance, key -> value.
using Tags = std::map<std::string, std::string, std::less<>>;

inline constexpr std::string_view kTagApplication = "ghr:Application";
inline constexpr std::string_view kTagEnvironment = "ghr:environment";
inline constexpr std::string_view kTagType = "ghr:Type";
inline constexpr std::string_view kTagOwner = "ghr:Owner";
inline constexpr std::string_view kRunnerApplication = "github-action-runner";

// What a scale-up counts under: environment, runner type (Org or Repo) and owner (an org, or owner/repo).
struct RunnerKey {
  std::string environment;
  std::string type;
  std::string owner;

  // "<environment>#<type>#<owner>". Each part has '%' written as "%25" and '#' as "%23" first, so
  // distinct keys always give distinct strings; parts without those characters appear verbatim.
  std::string str() const;

  // The inverse of str(). Returns InvalidArgument unless `text` has exactly three '#'-separated parts with
  // valid escapes.
  static Result<RunnerKey> parse(std::string_view text);

  friend bool operator==(const RunnerKey&, const RunnerKey&) = default;
  friend auto operator<=>(const RunnerKey&, const RunnerKey&) = default;
};

// Checks the user-facing parts of a key: type is "Org" or "Repo", environment and owner are non-empty.
Status validate_runner_key(const RunnerKey& key);

// What the tags say about an instance.
struct InstanceIdentity {
  // True when the instance is a runner of the environment being counted (ghr:Application is the
  // application asked for, github-action-runner by default; ghr:environment equals the filter; and
  // ghr:Type/ghr:Owner are valid).
  bool runner = false;
  // The ghr:environment, ghr:Type and ghr:Owner tags as found ("" when absent); the runner's key when
  // `runner` is true.
  RunnerKey tagged;
  // True when the tags were never looked up: the counter records an instance nobody registered without
  // asking EC2 when told to (CounterOptions::lookup_unregistered = false). Such an item is not a runner
  // (`runner` is false) until a registration claims it while it is active, or reconcile finds the
  // instance among EC2's runners.
  bool unresolved = false;

  friend bool operator==(const InstanceIdentity&, const InstanceIdentity&) = default;
};

// Classifies an instance by its tags for the environment `environment_filter`. `application` is the
// ghr:Application value that marks a runner; a deployment that tags its runners differently passes its own.
InstanceIdentity identify(const Tags& tags, std::string_view environment_filter,
                          std::string_view application = kRunnerApplication);
// The same for a deployment that counts several environments: a runner of any of `environments`.
InstanceIdentity identify(const Tags& tags, std::span<const std::string> environments,
                          std::string_view application = kRunnerApplication);

// Most environments one deployment counts: the reconcile scan sends them as the values of one EC2 filter,
// and DescribeInstances accepts up to 200 values per filter.
inline constexpr std::size_t kMaxEnvironments = 200;

// Parses ENVIRONMENT_FILTER: one environment, or several separated by commas ("prod,staging"), in the
// order given. Returns InvalidArgument naming the problem when `text` is empty, an item is empty or has
// leading or trailing whitespace, an item repeats, or there are more than kMaxEnvironments items.
Result<std::vector<std::string>> parse_environment_list(std::string_view text);

// The inverse of parse_environment_list: the items joined with ','.
std::string join_environment_list(std::span<const std::string> environments);

}  // namespace rcc
