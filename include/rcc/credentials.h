// AWS credentials and the shared config/credentials files, read the way the AWS CLI reads them for the
// cases this project supports: static keys from the environment or from a profile.
//
// Nothing here reads the process environment directly: every function takes an Env (rcc/env.h), so tests
// pass a VirtualEnv with their variables and the programs pass *Env::Default().
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "rcc/env.h"
#include "rcc/status.h"

namespace rcc {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" when the credentials are long-term keys

  friend bool operator==(const AwsCredentials&, const AwsCredentials&) = default;
};

// The settings of one profile: the config file's section merged with the credentials file's section
// (the credentials file wins on conflicts), keys lowercased as written.
using ProfileSettings = std::map<std::string, std::string, std::less<>>;

// The profile name in effect: `requested` when non-empty, else AWS_PROFILE, else "default".
std::string effective_profile(Env& env, std::string_view requested);

// Reads profile `profile` from the credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
// section [name]) and the config file (AWS_CONFIG_FILE or ~/.aws/config, section [profile name], or
// [default]). Missing files are not an error. Returns NotFound when neither file has the profile,
// IoError when a file exists but cannot be read, InvalidArgument when a file is not INI text.
Result<ProfileSettings> load_profile(Env& env, std::string_view profile);

// Parses INI text ("[section]", "key = value", '#' and ';' comments, indented continuation lines
// ignored) into section -> settings. Returns InvalidArgument naming the line on a malformed line.
Result<std::map<std::string, ProfileSettings, std::less<>>> parse_ini(std::string_view text);

// The credentials to sign with: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) when
// both keys are set, else the static keys of profile effective_profile(env, profile).
// Returns PermissionDenied when no credentials are found (naming where it looked), when only one of the
// two keys is set, or when the profile uses a kind we do not support (the message names it: role_arn,
// sso_*, credential_process, web_identity_token_file, credential_source).
Result<AwsCredentials> resolve_credentials(Env& env, std::string_view profile = "");

}  // namespace rcc
