// What a test looks for in captured logs to prove no secret leaked: the configured secret access key and
// session token, every request signature a test server saw, and any 64-hex-digit run (a SigV4 signature or
// signing key) at all.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace rcc::testing {

// Each of `secrets` (empty ones skipped) found in `log`, and each 64-hex-digit run, as "<what>: <value>".
inline std::vector<std::string> leaked_secrets(std::string_view log, const std::vector<std::string>& secrets) {
  std::vector<std::string> found;
  for (const std::string& secret : secrets) {
    if (!secret.empty() && log.find(secret) != std::string_view::npos) found.push_back("secret: " + secret);
  }
  static const std::regex hex64("[0-9a-fA-F]{64}");
  const std::string text(log);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), hex64); it != std::sregex_iterator(); ++it) {
    found.push_back("64 hex digits: " + it->str());
  }
  return found;
}

}  // namespace rcc::testing
