// Running the `rcc` binary from a test, pointed at local servers with fake credentials.
#pragma once

#include <string>

namespace rcc::testing {

struct CommandRun {
  int status = -1;  // the exit status; -1 when the command could not run or did not exit normally
  std::string out;  // what it wrote on stdout
};

// Runs `command` with /bin/sh and captures its stdout.
CommandRun run_command(const std::string& command);

// Runs `<rcc> <args>` with fake credentials, region us-east-1, DynamoDB at `dynamodb_endpoint` and EC2 at
// `ec2_endpoint` (when not empty), and without the caller's AWS profile, session token, generic endpoint
// and the function's own variables, so only `extra_env` ("NAME=value ...") and the flags configure it.
// stderr is appended to stdout when `with_stderr`.
CommandRun run_rcc(const std::string& rcc, const std::string& args, const std::string& dynamodb_endpoint,
                   const std::string& ec2_endpoint = "", const std::string& extra_env = "",
                   bool with_stderr = false);

}  // namespace rcc::testing
