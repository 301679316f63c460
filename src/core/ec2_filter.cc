#include "core/ec2_filter.h"

#include <algorithm>
#include <string>

namespace rcc {
namespace {

bool any_value_matches(const std::vector<std::string>& patterns, std::string_view text) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return ec2_wildcard_match(pattern, text); });
}

}  // namespace

bool is_known_ec2_filter(std::string_view name) {
  return name == "instance-id" || name == "instance-state-name" || name == "tag-key" ||
         (name.starts_with("tag:") && name.size() > 4);
}

Status check_ec2_filters(const std::vector<Ec2Filter>& filters) {
  for (const Ec2Filter& filter : filters) {
    if (!is_known_ec2_filter(filter.name)) {
      return Status::InvalidArgument("InvalidParameterValue: The filter '" + filter.name + "' is invalid");
    }
    if (filter.values.empty()) {
      return Status::InvalidArgument("InvalidParameterValue: The filter '" + filter.name + "' has no values");
    }
  }
  return Status();
}

bool ec2_wildcard_match(std::string_view pattern, std::string_view text) {
  // Greedy matching with one backtrack point (the last '*'), linear in practice.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == '\\' && p + 1 < pattern.size() && pattern[p + 1] == text[t]) {
      p += 2;
      ++t;
    } else if (p < pattern.size() && pattern[p] != '\\' && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool has_ec2_wildcard(std::string_view value) { return value.find_first_of("*?\\") != std::string_view::npos; }

bool ec2_filter_matches(const Ec2Filter& filter, const Ec2FilterSubject& instance) {
  if (filter.name == "instance-id") return any_value_matches(filter.values, instance.instance_id);
  if (filter.name == "instance-state-name") return any_value_matches(filter.values, state_name(instance.state));
  if (filter.name == "tag-key") {
    return std::any_of(filter.values.begin(), filter.values.end(), [&](const std::string& pattern) {
      if (!has_ec2_wildcard(pattern)) return instance.tags.contains(pattern);
      return std::any_of(instance.tags.begin(), instance.tags.end(),
                         [&](const auto& tag) { return ec2_wildcard_match(pattern, tag.first); });
    });
  }
  if (filter.name.starts_with("tag:") && filter.name.size() > 4) {
    const auto tag = instance.tags.find(std::string_view(filter.name).substr(4));
    return tag != instance.tags.end() && any_value_matches(filter.values, tag->second);
  }
  return false;
}

bool ec2_filters_match(const std::vector<Ec2Filter>& filters, const Ec2FilterSubject& instance) {
  return std::all_of(filters.begin(), filters.end(),
                     [&](const Ec2Filter& filter) { return ec2_filter_matches(filter, instance); });
}

bool ec2_filters_match(const std::vector<Ec2Filter>& filters, const Ec2Instance& instance) {
  return ec2_filters_match(filters, Ec2FilterSubject{instance.instance_id, instance.state, instance.tags});
}

}  // namespace rcc
