// ec2-test-server: the EC2 test server (ec2_server.h) as a process, for scripts and the end-to-end smoke
// test. Listens until SIGTERM or SIGINT, then stops cleanly and exits 0.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "testing/ec2_server.h"
#include "rcc/env.h"

namespace {

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees a partial port.
bool write_atomically(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  rcc::Ec2ServerOptions options;
  std::string inventory_path;
  std::string port_file;
  int latency_ms = 0;
  int latency_per_instance_us = 0;
  int port = 0;

  CLI::App app{"EC2 Query API (2016-11-15) test server: DescribeInstances from an in-memory inventory, with "
               "SigV4 header checks, a RequestLimitExceeded token bucket and fault injection. Listens on "
               "127.0.0.1 until SIGTERM/SIGINT."};
  app.footer(std::string("Inventory file: {\"instances\":[{\"instance_id\":\"i-...\",\"state\":\"running\","
                         "\"launch_time\":\"2024-01-01T00:00:00Z\",\"tags\":{\"k\":\"v\"}}]}\n"
                         "(state defaults to running, launch_time to now).\n\n") +
             rcc::kEc2ControlHelp);
  app.add_option("--inventory", inventory_path, "JSON inventory to serve (default: empty)")->check(CLI::ExistingFile);
  app.add_option("--port", port, "TCP port on 127.0.0.1; 0 picks a free one")->check(CLI::Range(0, 65535));
  app.add_option("--port-file", port_file, "Write the bound port to this file once listening");
  app.add_option("--burst", options.burst, "Token bucket size; 0 disables throttling")->capture_default_str();
  app.add_option("--refill-per-s", options.refill_per_s, "Tokens added per second")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--latency-ms", latency_ms, "Latency added to every EC2 answer")->check(CLI::NonNegativeNumber);
  app.add_option("--latency-per-instance-us", latency_per_instance_us,
                 "Latency added per instance returned, in microseconds")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  options.port = static_cast<std::uint16_t>(port);
  options.latency = std::chrono::milliseconds(latency_ms);
  options.latency_per_instance = std::chrono::microseconds(latency_per_instance_us);

  std::vector<rcc::Ec2Instance> inventory;
  if (!inventory_path.empty()) {
    std::ifstream in(inventory_path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    rcc::Result<std::vector<rcc::Ec2Instance>> parsed = rcc::parse_ec2_inventory(text.str(), rcc::Env::Default()->wall_ms());
    if (!parsed.ok()) {
      std::cerr << "ec2-test-server: " << inventory_path << ": " << parsed.status().message() << "\n";
      return 2;
    }
    inventory = std::move(parsed).value();
  }

  // Block the stop signals before any thread starts, so every thread inherits the mask and sigwait() below
  // is the only place they are received.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  rcc::Result<std::unique_ptr<rcc::Ec2TestServer>> server = rcc::Ec2TestServer::start(options);
  if (!server.ok()) {
    std::cerr << "ec2-test-server: " << server.status().to_string() << "\n";
    return 1;
  }
  (*server)->launch_all(std::move(inventory));
  if (!port_file.empty() && !write_atomically(port_file, std::to_string((*server)->port()) + "\n")) {
    std::cerr << "ec2-test-server: cannot write " << port_file << "\n";
    return 1;
  }
  std::cout << "ec2-test-server: listening on " << (*server)->endpoint() << " with "
            << (*server)->instance_count() << " instances" << std::endl;

  int received = 0;
  sigwait(&stop_signals, &received);
  (*server)->stop();
  rcc::Ec2ServerStats stats = (*server)->stats();
  std::cout << "ec2-test-server: stopped on signal " << received << " after " << stats.requests
            << " requests (" << stats.throttled << " throttled)" << std::endl;
  return 0;
}
