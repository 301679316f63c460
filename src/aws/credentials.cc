#include "rcc/credentials.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace rcc {
namespace {

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// The file's text; nullopt when it does not exist.
Result<std::optional<std::string>> read_optional_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) return Status::IoError("cannot read " + path);
  return std::optional<std::string>(text.str());
}

std::string home_file(Env& env, const char* variable, const char* relative) {
  if (auto value = env.getenv(variable)) return *value;
  if (auto home = env.getenv("HOME")) return *home + "/" + relative;
  return "";
}

constexpr std::string_view kUnsupportedKeys[] = {
    "role_arn", "credential_process", "web_identity_token_file", "credential_source", "sso_session",
    "sso_start_url", "sso_account_id", "sso_role_name", "sso_region",
};

}  // namespace

std::string effective_profile(Env& env, std::string_view requested) {
  if (!requested.empty()) return std::string(requested);
  if (auto value = env.getenv("AWS_PROFILE")) return *value;
  return "default";
}

Result<std::map<std::string, ProfileSettings, std::less<>>> parse_ini(std::string_view text) {
  std::map<std::string, ProfileSettings, std::less<>> sections;
  ProfileSettings* current = nullptr;
  int line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return Status::InvalidArgument("line " + std::to_string(line_number) + ": unterminated section header");
      }
      current = &sections[std::string(trim(line.substr(1, line.size() - 2)))];
      continue;
    }
    // Nested settings (e.g. "s3 =" followed by indented lines) are not used by this project.
    if (indented) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("line " + std::to_string(line_number) + ": expected key = value");
    }
    if (current == nullptr) {
      return Status::InvalidArgument("line " + std::to_string(line_number) + ": setting outside a section");
    }
    std::string key(trim(line.substr(0, eq)));
    for (char& c : key) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    (*current)[key] = std::string(trim(line.substr(eq + 1)));
  }
  return sections;
}

Result<ProfileSettings> load_profile(Env& env, std::string_view profile) {
  ProfileSettings merged;
  bool found = false;
  const std::string config_path = home_file(env, "AWS_CONFIG_FILE", ".aws/config");
  const std::string credentials_path = home_file(env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");

  if (!config_path.empty()) {
    auto text = read_optional_file(config_path);
    if (!text.ok()) return text.status();
    if (text->has_value()) {
      auto sections = parse_ini(**text);
      if (!sections.ok()) return sections.status().with_context(config_path);
      const std::string name = profile == "default" ? "default" : "profile " + std::string(profile);
      auto it = sections->find(name);
      if (it == sections->end() && profile == "default") it = sections->find("profile default");
      if (it != sections->end()) {
        merged = it->second;
        found = true;
      }
    }
  }
  if (!credentials_path.empty()) {
    auto text = read_optional_file(credentials_path);
    if (!text.ok()) return text.status();
    if (text->has_value()) {
      auto sections = parse_ini(**text);
      if (!sections.ok()) return sections.status().with_context(credentials_path);
      auto it = sections->find(profile);
      if (it != sections->end()) {
        for (const auto& [key, value] : it->second) merged[key] = value;
        found = true;
      }
    }
  }
  if (!found) {
    return Status::NotFound("profile " + std::string(profile) + " not found in " + credentials_path + " or " +
                            config_path);
  }
  return merged;
}

Result<AwsCredentials> resolve_credentials(Env& env, std::string_view profile) {
  auto key = env.getenv("AWS_ACCESS_KEY_ID");
  auto secret = env.getenv("AWS_SECRET_ACCESS_KEY");
  if (key && secret) {
    AwsCredentials out{*key, *secret, env.getenv("AWS_SESSION_TOKEN").value_or("")};
    return out;
  }
  if (key || secret) {
    return Status::PermissionDenied(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (only one of them is set)");
  }
  const std::string name = effective_profile(env, profile);
  auto settings = load_profile(env, name);
  if (!settings.ok()) {
    return Status::PermissionDenied("no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and " +
                                    settings.status().message());
  }
  auto id = settings->find("aws_access_key_id");
  auto sec = settings->find("aws_secret_access_key");
  if (id != settings->end() && sec != settings->end() && !id->second.empty() && !sec->second.empty()) {
    AwsCredentials out{id->second, sec->second, ""};
    if (auto token = settings->find("aws_session_token"); token != settings->end()) out.session_token = token->second;
    return out;
  }
  for (std::string_view unsupported : kUnsupportedKeys) {
    if (settings->contains(unsupported)) {
      return Status::PermissionDenied("profile " + name + " uses " + std::string(unsupported) +
                                      ", which rcc does not support; use static keys (aws_access_key_id and "
                                      "aws_secret_access_key) or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                                      "environment variables");
    }
  }
  return Status::PermissionDenied("profile " + name +
                                  " has no aws_access_key_id and aws_secret_access_key (static keys)");
}

}  // namespace rcc
