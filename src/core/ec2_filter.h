// EC2 DescribeInstances filter semantics, the one definition shared by the EC2 test server, the fakes and
// the simulator's model of EC2.
//
// The filters the project knows, as EC2 applies them: instance-id, instance-state-name, tag:<key> (the
// instance has tag <key> with a matching value) and tag-key (the instance has a tag whose key matches).
// Values are OR'ed within a filter, filters are AND'ed, and every value is an EC2 wildcard pattern: '*'
// matches any run of characters (also none), '?' exactly one character, and '\' makes the next character
// literal ("\*amazon\?\\" matches the text "*amazon?\"). A '\' at the end of a pattern matches nothing.
#pragma once

#include <string_view>
#include <vector>

#include "rcc/ec2.h"
#include "rcc/event.h"
#include "rcc/runner.h"
#include "rcc/status.h"

namespace rcc {

// True when `name` is a filter this project knows: instance-id, instance-state-name, tag-key, or tag:<key>
// with a non-empty key.
bool is_known_ec2_filter(std::string_view name);

// Returns OK when every filter name is known and every filter has a value; else InvalidArgument
// "InvalidParameterValue: The filter '<name>' is invalid" (or "... has no values"), EC2's error code and
// message for the first offending filter.
Status check_ec2_filters(const std::vector<Ec2Filter>& filters);

// Whether `text` matches the EC2 wildcard `pattern` (see above).
bool ec2_wildcard_match(std::string_view pattern, std::string_view text);

// True when `value` uses wildcard syntax ('*', '?' or '\'), i.e. may match more than the equal text. An
// index keyed by exact values may answer a filter only when none of its values does.
bool has_ec2_wildcard(std::string_view value);

// What a filter looks at, borrowed from the caller's instance type (the simulator keeps its own).
struct Ec2FilterSubject {
  std::string_view instance_id;
  InstanceState state = InstanceState::kPending;
  const Tags& tags;
};

// Whether the instance passes `filter`. A filter of an unknown name (see check_ec2_filters) matches nothing.
bool ec2_filter_matches(const Ec2Filter& filter, const Ec2FilterSubject& instance);

// Whether the instance passes every filter (true for no filters).
bool ec2_filters_match(const std::vector<Ec2Filter>& filters, const Ec2FilterSubject& instance);
bool ec2_filters_match(const std::vector<Ec2Filter>& filters, const Ec2Instance& instance);

}  // namespace rcc
