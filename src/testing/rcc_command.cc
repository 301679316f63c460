#include "testing/rcc_command.h"

#include <sys/wait.h>

#include <cstdio>

namespace rcc::testing {

CommandRun run_command(const std::string& command) {
  CommandRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int raw = ::pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

CommandRun run_rcc(const std::string& rcc, const std::string& args, const std::string& dynamodb_endpoint,
                   const std::string& ec2_endpoint, const std::string& extra_env, bool with_stderr) {
  std::string command =
      "env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_EC2 "
      "-u RUNNER_COUNT_CACHE_TABLE_NAME -u ENVIRONMENT_FILTER -u RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS "
      "-u RECONCILE_INTERVAL_S -u TTL_SECONDS -u LOG_LEVEL -u METRICS_NAMESPACE "
      "AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=" +
      dynamodb_endpoint;
  if (!ec2_endpoint.empty()) command += " AWS_ENDPOINT_URL_EC2=" + ec2_endpoint;
  command += " " + extra_env + " " + rcc + " " + args;
  if (with_stderr) command += " 2>&1";
  return run_command(command);
}

}  // namespace rcc::testing
