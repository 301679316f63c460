#include "testing/dynalite.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "rcc/dynamo_store.h"
#include "rcc/http_client.h"

namespace rcc::testing {
namespace {

// A port the kernel just handed out for 127.0.0.1; free again once the probe socket is closed.
Result<std::uint16_t> pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IoError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    ::close(fd);
    return Status::IoError("cannot bind a loopback port");
  }
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

std::string source_dir() {
  if (const char* dir = std::getenv("RCC_SOURCE_DIR"); dir != nullptr && *dir != '\0') return dir;
  return RCC_DYNALITE_SOURCE_DIR;
}

// The first executable `name` in a directory of $PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    ::usleep(20'000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

Dynalite::Dynalite(pid_t pid, std::uint16_t port, int stdout_fd)
    : pid_(pid), port_(port), endpoint_("http://127.0.0.1:" + std::to_string(port)), drain_([stdout_fd] {
        char buf[4096];
        while (::read(stdout_fd, buf, sizeof buf) > 0) {
        }
        ::close(stdout_fd);  // at EOF: the child exited
      }) {}

Dynalite::~Dynalite() {
  stop(pid_);
  drain_.join();
}

Result<std::unique_ptr<Dynalite>> Dynalite::start() {
  const std::string cli = source_dir() + "/scripts/node/node_modules/dynalite/cli.js";
  if (!std::filesystem::exists(cli)) {
    return Status::Unavailable("dynalite is not installed: " + cli + " is missing (run scripts/setup.sh)");
  }
  // Resolved before fork: between fork and exec a threaded process may only make async-signal-safe calls,
  // which execve is and execvp (PATH search, allocation) is not.
  const std::string node = find_on_path("node");
  if (node.empty()) return Status::Unavailable("cannot start dynalite: node is not on PATH");
  std::string last_error = "no attempt made";
  // The port may be taken between the probe and dynalite's bind: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto port = pick_free_port();
    if (!port.ok()) return port.status();
    const std::string port_text = std::to_string(*port);
    std::vector<std::string> args = {node, cli, "--host", "127.0.0.1", "--port", port_text,
                                     "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Status::IoError("pipe() failed");
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(out[0]);
      ::close(out[1]);
      return Status::IoError("fork() failed");
    }
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out[1], STDOUT_FILENO);
      ::execve(node.c_str(), argv.data(), environ);
      ::_exit(127);
    }
    ::close(out[1]);

    // Wait for "Dynalite listening at: http://...", or for the child to exit.
    std::string output;
    bool listening = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!listening && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        char buf[512];
        const ssize_t n = ::read(out[0], buf, sizeof(buf));
        if (n <= 0) break;  // the child closed stdout: it exited
        output.append(buf, static_cast<std::size_t>(n));
        listening = output.find("listening") != std::string::npos;
      }
    }
    if (listening) return std::unique_ptr<Dynalite>(new Dynalite(pid, *port, out[0]));
    ::close(out[0]);
    stop(pid);
    last_error = output.empty() ? "dynalite exited or printed nothing within 20 s (is node on PATH?)"
                                : "dynalite said: " + output;
  }
  return Status::Unavailable("cannot start dynalite: " + last_error);
}

Result<Dynalite*> Dynalite::shared() {
  static Result<std::unique_ptr<Dynalite>> instance = start();
  if (!instance.ok()) return instance.status();
  return instance->get();
}

AwsClient Dynalite::client(AwsClientOptions options) const {
  options.retry.max_attempts = std::min(options.retry.max_attempts, 3);
  return AwsClient(std::make_shared<BeastHttpClient>(), endpoint_, "dynamodb", "us-east-1",
                   AwsCredentials{"fake", "fake", ""}, std::move(options));
}

std::string unique_table_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

Status create_runner_table(AwsClient& client, std::string_view table) {
  auto created = create_table(client, table);
  if (!created.ok()) return created.status();
  return wait_table_active(client, table, std::chrono::seconds(10));
}

}  // namespace rcc::testing
