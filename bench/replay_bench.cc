// replay_bench: generates a fleet trace and measures `rcc replay` on it.
//
//   replay_bench --rcc build/rcc [--events 1000000] [--seed 1] [--dir /tmp/rcc-replay-bench]
//   replay_bench --write-example DIR [--events 4000]   (writes inventory.json and events.jsonl only)
//
// The trace: runners of several owners (Org and Repo) and some non-runners, each with a lifecycle
// (boot failures, stop/start, still running at the end), delivered with 5% duplicates and up to 90 s of
// reordering. The bench runs `rcc replay --json` as a child process, checks its counts against the
// generator's ground truth, and prints events/s (wall and CPU) and the child's peak RSS.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rcc/event.h"
#include "rcc/runner.h"

namespace {

struct Trace {
  nlohmann::json inventory;
  std::vector<std::string> lines;
  std::map<std::string, std::int64_t> truth;
};

Trace generate(std::int64_t target_events, std::uint64_t seed) {
  static const char* kOwners[] = {"acme", "globex", "initech", "acme/web", "acme/api", "globex/ml"};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> gap(1, 60);
  Trace trace;
  trace.inventory["instances"] = nlohmann::json::array();
  std::vector<std::pair<std::int64_t, rcc::InstanceEvent>> timed;
  const std::int64_t day_start = 1'767'225'600;  // 2026-01-01T00:00:00Z
  std::int64_t serial = 0;
  while (static_cast<std::int64_t>(timed.size()) < target_events) {
    char id[32];
    std::snprintf(id, sizeof id, "i-%017llx", static_cast<unsigned long long>(0x0abc000000000000ULL + ++serial));
    nlohmann::json tags = nlohmann::json::object();
    const int kind = percent(rng);
    bool runner = false;
    std::string key;
    if (kind < 8) {
      tags["Name"] = "build-cache";
    } else {
      const std::string owner = kOwners[rng() % 6];
      const std::string type = owner.find('/') == std::string::npos ? "Org" : "Repo";
      const std::string env = kind < 12 ? "staging" : "prod";
      tags = {{"ghr:Application", "github-action-runner"}, {"ghr:environment", env}, {"ghr:Type", type},
              {"ghr:Owner", owner}, {"Name", "github-runner"}};
      runner = env == "prod";
      key = rcc::RunnerKey{env, type, owner}.str();
    }
    trace.inventory["instances"].push_back({{"instance_id", id}, {"tags", tags}});

    std::int64_t t = day_start + static_cast<std::int64_t>(rng() % 86400);
    std::vector<rcc::InstanceState> states = {rcc::InstanceState::kPending};
    if (percent(rng) < 5) {
      states.insert(states.end(), {rcc::InstanceState::kShuttingDown, rcc::InstanceState::kTerminated});
    } else {
      states.push_back(rcc::InstanceState::kRunning);
      if (percent(rng) < 10) {
        states.insert(states.end(), {rcc::InstanceState::kStopping, rcc::InstanceState::kStopped,
                                     rcc::InstanceState::kPending, rcc::InstanceState::kRunning});
      }
      if (percent(rng) < 97) {
        states.insert(states.end(), {rcc::InstanceState::kShuttingDown, rcc::InstanceState::kTerminated});
      }
    }
    for (auto state : states) {
      t += gap(rng);
      const rcc::InstanceEvent event{id, state, t, "e-" + std::to_string(timed.size())};
      timed.emplace_back(t + static_cast<std::int64_t>(rng() % 90), event);
      if (percent(rng) < 5) timed.emplace_back(t + static_cast<std::int64_t>(rng() % 300), event);
    }
    if (runner && rcc::is_active(states.back())) ++trace.truth[key];
  }
  std::stable_sort(timed.begin(), timed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  trace.lines.reserve(timed.size());
  for (const auto& [at, event] : timed) trace.lines.push_back(rcc::format_instance_event(event));
  return trace;
}

void write_trace(const Trace& trace, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "inventory.json") << trace.inventory.dump(1) << '\n';
  std::ofstream events(dir / "events.jsonl");
  for (const auto& line : trace.lines) events << line << '\n';
}

int usage() {
  std::fprintf(stderr,
               "usage: replay_bench --rcc PATH [--events N] [--seed S] [--dir DIR]\n"
               "       replay_bench --write-example DIR [--events N] [--seed S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string rcc_path, dir = "/tmp/rcc-replay-bench", example_dir;
  std::int64_t events = 1'000'000;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (arg == "--rcc") rcc_path = value;
    else if (arg == "--events") events = std::stoll(value);
    else if (arg == "--seed") seed = std::stoull(value);
    else if (arg == "--dir") dir = value;
    else if (arg == "--write-example") example_dir = value;
    else return usage();
  }
  if (!example_dir.empty()) {
    const Trace trace = generate(events, seed);
    write_trace(trace, example_dir);
    std::printf("wrote %zu events for %zu instances to %s; expected counts: %s\n", trace.lines.size(),
                trace.inventory["instances"].size(), example_dir.c_str(), nlohmann::json(trace.truth).dump().c_str());
    return 0;
  }
  if (rcc_path.empty()) return usage();

  std::printf("generating %lld events (seed %llu) ...\n", static_cast<long long>(events),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  // Generate in a child process, so this process stays small and the replay's peak RSS (measured with
  // wait4 on the process forked below) is the replay's own.
  const pid_t generator = fork();
  if (generator == 0) {
    const Trace trace = generate(events, seed);
    write_trace(trace, dir);
    std::ofstream(dir + "/expected-counts.json") << nlohmann::json(trace.truth).dump() << '\n';
    std::ofstream(dir + "/lines.txt") << trace.lines.size() << '\n';
    _exit(0);
  }
  int generated = 0;
  waitpid(generator, &generated, 0);
  if (!WIFEXITED(generated) || WEXITSTATUS(generated) != 0) {
    std::fprintf(stderr, "trace generation failed\n");
    return 1;
  }
  std::ifstream expected_file(dir + "/expected-counts.json");
  const auto truth = nlohmann::json::parse(expected_file);
  std::size_t line_count = 0;
  std::ifstream(dir + "/lines.txt") >> line_count;
  const std::string out_path = dir + "/replay-output.json";

  const auto start = std::chrono::steady_clock::now();
  const pid_t child = fork();
  if (child == 0) {
    if (!std::freopen(out_path.c_str(), "w", stdout)) _exit(127);
    const std::string inventory = dir + "/inventory.json", events_path = dir + "/events.jsonl";
    execl(rcc_path.c_str(), rcc_path.c_str(), "replay", "--environment", "prod", "--inventory", inventory.c_str(),
          "--events", events_path.c_str(), "--json", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage usage_info{};
  wait4(child, &status, 0, &usage_info);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "rcc replay failed (status %d)\n", status);
    return 1;
  }
  std::ifstream in(out_path);
  const auto output = nlohmann::json::parse(in);
  const bool exact = output["counts"] == truth;
  const double cpu_s = static_cast<double>(usage_info.ru_utime.tv_sec + usage_info.ru_stime.tv_sec) +
                       static_cast<double>(usage_info.ru_utime.tv_usec + usage_info.ru_stime.tv_usec) / 1e6;
  const double n = static_cast<double>(line_count);
  std::printf("rcc replay: %zu events in %.2f s wall, %.2f s CPU: %.0f events/s (wall), %.0f events/s (CPU)\n",
              line_count, wall_s, cpu_s, n / wall_s, n / cpu_s);
  std::printf("peak RSS: %.1f MiB; counts %s the ground truth (%zu keys)\n",
              static_cast<double>(usage_info.ru_maxrss) / 1024.0, exact ? "equal" : "DIFFER FROM", truth.size());
  return exact ? 0 : 1;
}
