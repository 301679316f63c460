// Fuzzes one Lambda invocation end to end: the Runtime API's /next answer (status, headers, payload) read
// by RuntimeClient, the payload handled by the CounterFunction (on an in-memory store, with fake EC2 and
// tag sources), and the result posted back.
//
// The input is an HTTP answer in short form: an optional first line "HTTP <status>", then header lines
// "Name: value", an empty line, and the payload (the event JSON) after it.
//
// Properties: no crash, throw or leak (the handler must not throw: the runtime loop would turn a throw into
// an Internal error, which hides the bug); a /next answer that cannot be used posts nothing, and the loop
// ends with a reason once /next has failed kNextAttempts times in a row; a usable one gets exactly one
// post, right after it, whose body is JSON; every log and metrics line is JSON.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <string>

#include "fuzz_support.h"
#include "app/counter_function.h"
#include "app/log.h"
#include "app/metrics.h"
#include "lambda/lambda_runtime.h"
#include "testing/fakes.h"

namespace {

using rcc::fuzz::require;

constexpr std::int64_t kNowMs = 1700000000000;

// The /next answer the input describes.
rcc::HttpResponse next_answer(std::string_view input) {
  rcc::HttpResponse response;
  response.status = 200;
  bool first = true;
  while (!input.empty()) {
    const std::size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (line.empty()) break;
    if (first && line.starts_with("HTTP ")) {
      int status = 0;
      std::from_chars(line.data() + 5, line.data() + line.size(), status);
      response.status = status;
    } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (value.starts_with(' ')) value.remove_prefix(1);
      response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    first = false;
  }
  response.body = std::string(input);
  return response;
}

void require_json_line(std::string_view line) {
  require(nlohmann::json::accept(line), "every log and metrics line is JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rcc::fuzz::ScriptedHttpClient http;
  http.answers = {next_answer(rcc::fuzz::as_text(data, size)), rcc::fuzz::http_response(202, "")};
  http.exhausted = rcc::Status::Unavailable("fuzz: the Runtime API went away");

  rcc::MemoryStore store;
  rcc::testing::FakeTagSource tags;
  rcc::testing::FakeEc2 ec2;
  const rcc::Tags runner = rcc::testing::runner_tags("prod", "Org", "acme");
  for (const char* id : {"i-0123456789abcdef0", "i-1234567890abcdef0"}) {
    tags.tags[id] = runner;
    ec2.add(id, rcc::InstanceState::kRunning, runner, kNowMs - 60000);
  }
  rcc::Logger log(rcc::LogLevel::kDebug, require_json_line);
  rcc::Metrics metrics("RunnerCountCache", {{"Environment", "prod"}}, require_json_line);
  rcc::CounterFunctionConfig config;
  config.table_name = "fuzz-table";
  config.environments = {"prod"};
  rcc::VirtualEnv env(kNowMs);
  rcc::CounterFunction function(config, store, ec2, tags, log, metrics, &env);

  rcc::RuntimeClient client(http, "127.0.0.1:9001");
  const rcc::Status ended = rcc::run_runtime_loop(client, [&](const rcc::Invocation& invocation) {
    try {
      return function.handle(invocation.request_id, invocation.payload, invocation.deadline_ms);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "the handler threw: %s\n", e.what());
      require(false, "the handler never throws");
    }
    return rcc::Result<std::string>(rcc::Status::Internal("unreachable"));
  }, nullptr, &env);
  rcc::fuzz::require_explained(ended);

  // The loop asks /next again after a failed one, and gives up after kNextAttempts failures in a row (the
  // scripted answers run out after the first two).
  const auto posts = std::count_if(http.requests.begin(), http.requests.end(),
                                   [](const rcc::HttpRequest& r) { return r.method == "POST"; });
  require(posts <= 1, "at most one post");
  require(!http.requests.empty() &&
              http.requests.size() <= static_cast<std::size_t>(1 + posts + rcc::kNextAttempts),
          "one /next, at most one post, then at most kNextAttempts failed /next");
  if (posts == 0) return 0;  // the first /next brought no invocation
  const rcc::HttpRequest& post = http.requests[1];
  require(post.method == "POST", "the result is posted right after the /next that brought the invocation");
  require(nlohmann::json::accept(post.body), "the posted body is JSON");
  return 0;
}
