// Fuzzes the shared config/credentials file reader: parse_ini on the text, and the whole resolution
// (resolve_credentials, resolve_region) with the text as both AWS_SHARED_CREDENTIALS_FILE and
// AWS_CONFIG_FILE.
//
// Properties: no crash, throw or leak; a malformed file is InvalidArgument naming its line; credentials
// resolve to both keys or to PermissionDenied with a reason; a resolved region is a region name.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "fuzz_support.h"
#include "rcc/aws_config.h"
#include "rcc/credentials.h"
#include "rcc/env.h"

namespace {

using rcc::fuzz::require;

// One file per fuzzing process, rewritten for every input.
const std::string& scratch_file() {
  static const std::string path = [] {
    std::string name = "/tmp/rcc-fuzz-ini-XXXXXX";
    const int fd = mkstemp(name.data());
    require(fd >= 0, "a scratch file can be created");
    close(fd);
    return name;
  }();
  return path;
}

void write_file(const std::string& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  require(f != nullptr, "the scratch file opens");
  require(std::fwrite(text.data(), 1, text.size(), f) == text.size(), "the scratch file is written");
  std::fclose(f);
}

bool is_region_name(std::string_view region) {
  if (region.empty()) return false;
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rcc::fuzz::as_text(data, size);
  auto sections = rcc::parse_ini(text);
  if (!sections.ok()) {
    require(sections.status().code() == rcc::Code::kInvalidArgument, "a malformed file is InvalidArgument");
    require(sections.status().message().starts_with("line "), "a malformed file's error names the line");
  }

  const std::string& path = scratch_file();
  write_file(path, text);
  for (const char* profile : {"default", "ci"}) {
    rcc::VirtualEnv env;
    env.set_env("AWS_SHARED_CREDENTIALS_FILE", path);
    env.set_env("AWS_CONFIG_FILE", path);
    env.set_env("AWS_PROFILE", profile);
    env.set_env("HOME", "/nonexistent");
    auto credentials = rcc::resolve_credentials(env);
    if (credentials.ok()) {
      require(!credentials->access_key_id.empty() && !credentials->secret_access_key.empty(),
              "resolved credentials have both keys");
    } else {
      rcc::fuzz::require_explained(credentials.status());
      require(credentials.status().code() == rcc::Code::kPermissionDenied, "missing credentials are PermissionDenied");
    }
    auto region = rcc::resolve_region(env, profile, "");
    if (region.ok()) {
      require(is_region_name(*region), "a resolved region is a region name");
    } else {
      rcc::fuzz::require_explained(region.status());
    }
  }
  return 0;
}
