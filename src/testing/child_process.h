// ChildProcess: a program a test starts under `env -i` with exactly the variables it gives (as Lambda starts
// `bootstrap`), stdout and stderr to files, killed with SIGKILL if still running when the handle goes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace rcc::testing {

class ChildProcess {
 public:
  // Runs `argv` (argv[0] a path) under `/usr/bin/env -i <env...>`, optionally under the words of
  // $RCC_LAMBDA_EMULATOR (e.g. "qemu-aarch64 -L /"); stdout goes to <log_dir>/stdout.log, stderr to
  // <log_dir>/stderr.log.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::filesystem::path& log_dir);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return spawn_error_ == 0; }

  // The exit status (128 + signal when killed), or -1 when it did not exit within `timeout`; once it
  // exited, the same status at once on every call.
  int wait(std::chrono::milliseconds timeout);

  // The whole of <log_dir>/<name>, "" when absent.
  std::string output(const char* name) const;
  // stdout then stderr.
  std::string all_output() const { return output("stdout.log") + output("stderr.log"); }

 private:
  std::filesystem::path log_dir_;
  pid_t pid_ = -1;
  int spawn_error_ = 0;
  bool exited_ = false;
  int exit_status_ = -1;
};

}  // namespace rcc::testing
