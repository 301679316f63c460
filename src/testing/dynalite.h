// Dynalite: a DynamoDB API server (npm `dynalite`) started by a test process on a free loopback port and
// stopped when the handle is destroyed (or, should the test process die, by the kernel: the child gets
// SIGKILL when its parent exits).
//
// Tests use fake credentials and point AwsClient at endpoint(). Not thread-safe. Start it from a thread that
// lives as long as the server (the main thread): Linux delivers the parent-death signal when the thread that
// forked exits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "rcc/aws_request.h"
#include "rcc/status.h"

namespace rcc::testing {

class Dynalite {
 public:
  // Starts `node <source dir>/scripts/node/node_modules/dynalite/cli.js --host 127.0.0.1 --port <free>`
  // with table state changes taking 0 ms, and waits until it listens. The source dir is $RCC_SOURCE_DIR,
  // else the one this library was built from. Returns Unavailable when node or dynalite cannot start
  // (the message says why): a test must fail then, not skip.
  static Result<std::unique_ptr<Dynalite>> start();

  // One instance per process, started on first use and stopped at exit. Returns the start failure, if any,
  // on every call.
  static Result<Dynalite*> shared();

  ~Dynalite();
  Dynalite(const Dynalite&) = delete;
  Dynalite& operator=(const Dynalite&) = delete;

  // "http://127.0.0.1:<port>"
  const std::string& endpoint() const { return endpoint_; }
  std::uint16_t port() const { return port_; }

  // A DynamoDB client for this server with fake credentials (AWS_ACCESS_KEY_ID=fake), region us-east-1,
  // its own BeastHttpClient, and a short retry policy.
  AwsClient client(AwsClientOptions options = {}) const;

 private:
  Dynalite(pid_t pid, std::uint16_t port, int stdout_fd);

  pid_t pid_;
  std::uint16_t port_;
  std::string endpoint_;
  // dynalite's stdout stays read to its end by this thread: closing the pipe would turn its next write
  // (a log line) into EPIPE, which kills node.
  std::thread drain_;
};

// A table name unique within this process run: "<prefix>-<pid>-<counter>".
std::string unique_table_name(std::string_view prefix);

// Creates the runner table (rcc::create_table) named `table` and waits until it is ACTIVE.
Status create_runner_table(AwsClient& client, std::string_view table);

}  // namespace rcc::testing
