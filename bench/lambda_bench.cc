// The counter function's figures: cold start (exec of bootstrap to its first /next) and peak RSS, median of
// 20 runs; per-event CPU on a warm process with local servers (in-process handler, and the whole bootstrap
// process per invocation); zip sizes.
//
// Usage: lambda_bench [x86_64 zip] [arm64 zip]  (defaults: this build's lambda-package/ zips)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "testing/dynalite.h"
#include "testing/ec2_server.h"
#include "app/counter_function.h"
#include "rcc/dynamo_store.h"
#include "rcc/ec2_client.h"
#include "rcc/event.h"
#include "rcc/http_client.h"
#include "testing/runtime_api_server.h"

namespace fs = std::filesystem;
using namespace rcc;
using std::chrono::milliseconds;

namespace {

constexpr const char* kTable = "runner-count-cache-bench";
constexpr int kColdRuns = 20;
constexpr std::int64_t kT0 = 1763000000;

template <typename T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double rusage_cpu_us(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

Tags runner_tags(const std::string& owner) {
  return Tags{{"ghr:Application", "github-action-runner"}, {"ghr:environment", "prod"}, {"ghr:Type", "Org"},
              {"ghr:Owner", owner}};
}

std::string instance_id(int i) {
  char id[24];
  std::snprintf(id, sizeof id, "i-%017x", 0x100000 + i);
  return id;
}

struct Child {
  pid_t pid = -1;
  std::chrono::steady_clock::time_point started;
};

Child spawn_bootstrap(const fs::path& binary, const std::vector<std::string>& env) {
  std::vector<std::string> storage = env;
  std::vector<char*> envp;
  for (std::string& e : storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = binary.string();
  char* argv[] = {path.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  Child child;
  child.started = std::chrono::steady_clock::now();
  if (posix_spawn(&child.pid, argv[0], &actions, nullptr, argv, envp.data()) != 0) child.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return child;
}

std::vector<std::string> lambda_env(const std::string& runtime, const std::string& dynamodb, const std::string& ec2,
                                    const fs::path& root) {
  return {"AWS_LAMBDA_RUNTIME_API=" + runtime, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=fake",
          "AWS_SECRET_ACCESS_KEY=fake", "AWS_SESSION_TOKEN=fake", "_HANDLER=bootstrap",
          "LAMBDA_TASK_ROOT=" + root.string(), "TZ=:UTC", "RUNNER_COUNT_CACHE_TABLE_NAME=" + std::string(kTable),
          "ENVIRONMENT_FILTER=prod", "AWS_ENDPOINT_URL_DYNAMODB=" + dynamodb, "AWS_ENDPOINT_URL_EC2=" + ec2};
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path zip_x86 = argc > 1 ? fs::path(argv[1]) : fs::path(RCC_LAMBDA_ZIP_X86_64);
  const fs::path zip_arm = argc > 2 ? fs::path(argv[2]) : fs::path(RCC_LAMBDA_ZIP_ARM64);
  for (const fs::path& zip : {zip_x86, zip_arm}) {
    if (fs::exists(zip)) std::printf("zip size %-40s %8.0f KiB\n", zip.filename().c_str(), fs::file_size(zip) / 1024.0);
  }
  if (!fs::exists(zip_x86)) {
    std::fprintf(stderr, "lambda_bench: %s not found: build the lambda-package target first\n", zip_x86.c_str());
    return 1;
  }
  char pattern[] = "/tmp/rcc-lambda-bench-XXXXXX";
  const fs::path dir = ::mkdtemp(pattern);
  const std::string unzip = "unzip -q '" + zip_x86.string() + "' -d '" + dir.string() + "'";
  if (std::system(unzip.c_str()) != 0) return 1;
  const fs::path bootstrap = dir / "bootstrap";

  auto dynalite = testing::Dynalite::start();
  if (!dynalite.ok()) {
    std::fprintf(stderr, "lambda_bench: %s\n", dynalite.status().to_string().c_str());
    return 1;
  }
  AwsClient admin = (*dynalite)->client();
  if (!testing::create_runner_table(admin, kTable).ok()) return 1;
  Ec2ServerOptions ec2_options;
  ec2_options.burst = 0;
  auto ec2_server = Ec2TestServer::start(ec2_options);
  if (!ec2_server.ok()) return 1;
  const int kInstances = 200;
  for (int i = 0; i < kInstances; ++i) {
    (*ec2_server)->launch({instance_id(i), InstanceState::kRunning, runner_tags("org" + std::to_string(i % 7)), 0});
  }

  // 1. Cold start: exec to the first /next, and the peak RSS of that fresh process; a fresh server each run.
  std::vector<double> cold_ms;
  std::vector<long> cold_rss_kib;
  for (int run = 0; run < kColdRuns; ++run) {
    auto runtime = RuntimeApiServer::start();
    if (!runtime.ok()) return 1;
    Child child = spawn_bootstrap(bootstrap, lambda_env((*runtime)->endpoint(), (*dynalite)->endpoint(),
                                                        (*ec2_server)->endpoint(), dir));
    if (child.pid < 0 || !(*runtime)->wait_for_next_requests(1, milliseconds(10000))) return 1;
    cold_ms.push_back(std::chrono::duration<double, std::milli>(*(*runtime)->first_next_time() - child.started).count());
    (*runtime)->stop();
    int status = 0;
    rusage usage{};
    ::wait4(child.pid, &status, 0, &usage);
    cold_rss_kib.push_back(usage.ru_maxrss);
  }
  std::printf("cold start (exec -> first /next), median of %d: %.2f ms (min %.2f, max %.2f)\n", kColdRuns,
              median(cold_ms), *std::min_element(cold_ms.begin(), cold_ms.end()),
              *std::max_element(cold_ms.begin(), cold_ms.end()));
  std::printf("peak RSS at first /next, median of %d: %.1f MiB\n", kColdRuns, median(cold_rss_kib) / 1024.0);

  // 2. The whole bootstrap process on a warm run: new instances (tag lookup), then known runners.
  {
    auto runtime = RuntimeApiServer::start();
    if (!runtime.ok()) return 1;
    Child child = spawn_bootstrap(bootstrap, lambda_env((*runtime)->endpoint(), (*dynalite)->endpoint(),
                                                        (*ec2_server)->endpoint(), dir));
    int events = 0;
    for (int i = 0; i < kInstances; ++i, ++events) {
      (*runtime)->enqueue(format_instance_event({instance_id(i), InstanceState::kPending, kT0, "e"}));
    }
    for (int round = 1; round <= 5; ++round) {
      for (int i = 0; i < kInstances; ++i, ++events) {
        (*runtime)->enqueue(format_instance_event({instance_id(i), InstanceState::kRunning, kT0 + round, "e"}));
      }
    }
    const auto start = std::chrono::steady_clock::now();
    if (!(*runtime)->wait_for_answers(static_cast<std::size_t>(events), milliseconds(300000))) return 1;
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    (*runtime)->stop();
    int status = 0;
    rusage usage{};
    ::wait4(child.pid, &status, 0, &usage);
    std::printf("bootstrap process, %d invocations (%d new, %d known): CPU %.1f us/invocation, wall %.2f ms/invocation, "
                "peak RSS %.1f MiB\n",
                events, kInstances, events - kInstances, rusage_cpu_us(usage) / events, wall_ms / events,
                usage.ru_maxrss / 1024.0);
  }

  // 3. The handler alone, in-process, over DynamoStore (dynalite) and Ec2QueryClient (EC2 test server):
  //    thread CPU per handle() call.
  {
    auto http = std::make_shared<BeastHttpClient>();
    AwsConfig config;
    config.region = "us-east-1";
    config.credentials = {"fake", "fake", ""};
    config.dynamodb_endpoint = (*dynalite)->endpoint();
    config.ec2_endpoint = (*ec2_server)->endpoint();
    const std::string table = testing::unique_table_name("bench");
    AwsClient table_admin = (*dynalite)->client();
    if (!testing::create_runner_table(table_admin, table).ok()) return 1;
    DynamoStore store(AwsClient::for_service(http, config, AwsService::kDynamoDb), DynamoStoreOptions{table});
    Ec2QueryClient ec2 = Ec2QueryClient::for_config(http, config);
    VirtualEnv no_waits;  // a not-found lookup does not wait in the benchmark
    Ec2TagSource tags(ec2, {}, &no_waits);
    std::FILE* null_out = std::fopen("/dev/null", "w");
    auto sink = [null_out](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), null_out);
      std::fputc('\n', null_out);
    };
    Logger log(LogLevel::kInfo, sink);
    Metrics metrics("RunnerCountCache", {{"Environment", "prod"}}, sink);
    CounterFunctionConfig fc;
    fc.table_name = table;
    fc.environments = {"prod"};
    CounterFunction function(fc, store, ec2, tags, log, metrics);
    std::vector<double> new_us;
    std::vector<double> known_us;
    for (int i = 0; i < kInstances; ++i) {
      const std::string payload = format_instance_event({instance_id(i), InstanceState::kPending, kT0, "e"});
      const double t = thread_cpu_us();
      if (!function.handle("bench", payload).ok()) return 1;
      new_us.push_back(thread_cpu_us() - t);
    }
    for (int round = 1; round <= 5; ++round) {
      for (int i = 0; i < kInstances; ++i) {
        const std::string payload = format_instance_event({instance_id(i), InstanceState::kRunning, kT0 + round, "e"});
        const double t = thread_cpu_us();
        if (!function.handle("bench", payload).ok()) return 1;
        known_us.push_back(thread_cpu_us() - t);
      }
    }
    std::fclose(null_out);
    std::printf("handler CPU (in-process, thread CPU time), median: new instance %.1f us (1 EC2 + 3 DynamoDB calls), "
                "known runner %.1f us (1 DynamoDB call)\n",
                median(new_us), median(known_us));
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
