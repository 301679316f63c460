#include "rcc/runner.h"

#include <algorithm>
#include <cctype>

namespace rcc {
namespace {

void append_escaped(std::string& out, std::string_view part) {
  for (char c : part) {
    if (c == '%') {
      out += "%25";
    } else if (c == '#') {
      out += "%23";
    } else {
      out += c;
    }
  }
}

Result<std::string> unescape(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out += part[i];
      continue;
    }
    const std::string_view code = part.substr(i + 1, 2);
    if (code == "25") {
      out += '%';
    } else if (code == "23") {
      out += '#';
    } else {
      return Status::InvalidArgument("runner key: bad escape \"%" + std::string(code) + "\"");
    }
    i += 2;
  }
  return out;
}

std::string_view tag(const Tags& tags, std::string_view name) {
  const auto it = tags.find(name);
  return it == tags.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace

std::string RunnerKey::str() const {
  std::string out;
  out.reserve(environment.size() + type.size() + owner.size() + 2);
  append_escaped(out, environment);
  out += '#';
  append_escaped(out, type);
  out += '#';
  append_escaped(out, owner);
  return out;
}

Result<RunnerKey> RunnerKey::parse(std::string_view text) {
  const std::size_t first = text.find('#');
  const std::size_t second = first == std::string_view::npos ? first : text.find('#', first + 1);
  if (second == std::string_view::npos || text.find('#', second + 1) != std::string_view::npos) {
    return Status::InvalidArgument("runner key: want <environment>#<type>#<owner>, got \"" + std::string(text) + "\"");
  }
  auto environment = unescape(text.substr(0, first));
  if (!environment.ok()) return environment.status();
  auto type = unescape(text.substr(first + 1, second - first - 1));
  if (!type.ok()) return type.status();
  auto owner = unescape(text.substr(second + 1));
  if (!owner.ok()) return owner.status();
  return RunnerKey{std::move(*environment), std::move(*type), std::move(*owner)};
}

Status validate_runner_key(const RunnerKey& key) {
  if (key.environment.empty()) return Status::InvalidArgument("environment: empty");
  if (key.type != "Org" && key.type != "Repo") {
    return Status::InvalidArgument("type: want Org or Repo, got \"" + key.type + "\"");
  }
  if (key.owner.empty()) return Status::InvalidArgument("owner: empty");
  return Status();
}

InstanceIdentity identify(const Tags& tags, std::span<const std::string> environments,
                          std::string_view application) {
  InstanceIdentity identity;
  identity.tagged = RunnerKey{std::string(tag(tags, kTagEnvironment)), std::string(tag(tags, kTagType)),
                              std::string(tag(tags, kTagOwner))};
  identity.runner = tag(tags, kTagApplication) == application &&
                    std::find(environments.begin(), environments.end(), identity.tagged.environment) !=
                        environments.end() &&
                    validate_runner_key(identity.tagged).ok();
  return identity;
}

InstanceIdentity identify(const Tags& tags, std::string_view environment_filter, std::string_view application) {
  const std::string environments[] = {std::string(environment_filter)};
  return identify(tags, environments, application);
}

Result<std::vector<std::string>> parse_environment_list(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("environment list: empty");
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string item(text.substr(begin, end - begin));
    const std::string where = "environment list \"" + std::string(text) + "\": item " + std::to_string(out.size() + 1);
    if (item.empty()) return Status::InvalidArgument(where + " is empty");
    if (std::isspace(static_cast<unsigned char>(item.front())) || std::isspace(static_cast<unsigned char>(item.back()))) {
      return Status::InvalidArgument(where + " \"" + item + "\" has leading or trailing whitespace");
    }
    if (std::find(out.begin(), out.end(), item) != out.end()) {
      return Status::InvalidArgument(where + " \"" + item + "\" repeats");
    }
    out.push_back(item);
    if (out.size() > kMaxEnvironments) {
      return Status::InvalidArgument("environment list: more than " + std::to_string(kMaxEnvironments) +
                                     " environments");
    }
    if (end == text.size()) break;
    begin = end + 1;
  }
  return out;
}

std::string join_environment_list(std::span<const std::string> environments) {
  std::string out;
  for (const std::string& environment : environments) {
    if (!out.empty()) out += ',';
    out += environment;
  }
  return out;
}

}  // namespace rcc
