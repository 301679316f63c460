// Pieces the fuzz targets share: the check that turns a broken property into a crash libFuzzer reports
// (with the input that broke it), and an HttpClient that answers from a script instead of a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rcc/aws_request.h"
#include "rcc/env.h"
#include "rcc/http.h"
#include "rcc/status.h"

namespace rcc::fuzz {

// The fuzzer's input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Aborts naming `property` when `holds` is false; libFuzzer reports the abort and saves the input.
inline void require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz property broken: %s\n", property);
  std::abort();
}

// A failed parse must say what was wrong: a non-empty message.
inline void require_explained(const Status& status) {
  require(!status.ok() && !status.message().empty(), "a rejection carries a message");
}

// Answers request i with answers[i]; once they are spent, with `exhausted`, so a loop that follows pages
// ends. Records every request.
class ScriptedHttpClient : public HttpClient {
 public:
  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& /*timeouts*/) override {
    requests.push_back(request);
    if (next_ < answers.size()) return answers[next_++];
    return exhausted;
  }

  std::vector<Result<HttpResponse>> answers;
  Status exhausted = Status::InvalidArgument("fuzz: no more answers scripted");
  std::vector<HttpRequest> requests;

 private:
  std::size_t next_ = 0;
};

inline HttpResponse http_response(int status, std::string body, HttpHeaders headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

// An AwsClient for `service` over `http` on `env` (a VirtualEnv: a retryable answer is retried after a
// virtual sleep, up to the default number of attempts, so a fuzz run stays fast, bounded and the same for
// the same input). `env` must outlive the client.
inline AwsClient scripted_aws_client(std::shared_ptr<HttpClient> http, std::string service, Env& env) {
  AwsClientOptions options;
  options.env = &env;
  return AwsClient(std::move(http), "http://127.0.0.1:1", std::move(service), "us-east-1",
                   AwsCredentials{"AKIDFUZZ", "fuzz-secret", ""}, options);
}

}  // namespace rcc::fuzz
