// AwsClient: sign, send, classify and retry one AWS API call; shared by the DynamoDB store and the EC2
// client.
//
// A call is an HttpRequest to the service endpoint. Each attempt is signed afresh (SigV4, current time),
// sent through the HttpClient, and judged: 2xx is the answer; anything else is handed to the caller's
// ErrorParser, which names the service error and the Status it means. Retryable Statuses (transport
// failures, throttling, 5xx) are retried per the RetryPolicy; the rest are returned at once.
//
// Thread-compatible: one AwsClient (and its HttpClient) per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "rcc/aws_config.h"
#include "rcc/credentials.h"
#include "rcc/deadline.h"
#include "rcc/env.h"
#include "rcc/http.h"
#include "rcc/retry.h"
#include "rcc/status.h"

namespace rcc {

// A non-2xx answer, as the service named it.
struct ServiceError {
  int http_status = 0;
  std::string code;     // the service's error name ("ThrottlingException", "RequestLimitExceeded"); "" if none
  std::string message;  // the service's message, or a short excerpt of the body
  Status status;        // how to treat it; never ok. Retryable statuses are retried.
};

// Reads a non-2xx response. Must return a ServiceError whose status is not ok.
using ErrorParser = std::function<ServiceError(const HttpResponse& response)>;

// The fallback Status for an HTTP status without a recognised error name: 5xx -> Unavailable,
// 429 -> Throttled, 401/403 -> PermissionDenied, 404 -> NotFound, other 4xx -> InvalidArgument,
// anything else -> ProtocolError. `what` becomes the message.
Status status_for_http(int http_status, std::string what);

// Counters of one AwsClient. Every attempt counts (retries included).
struct AwsCallStats {
  std::int64_t requests_sent = 0;   // attempts that reached HttpClient::send
  std::int64_t bytes_sent = 0;      // request bodies
  std::int64_t bytes_received = 0;  // response bodies
  std::int64_t retries = 0;         // attempts after the first of a call
  std::int64_t service_errors = 0;  // non-2xx answers
  std::int64_t transport_errors = 0;
};

struct AwsClientOptions {
  RetryPolicy retry;
  HttpTimeouts timeouts;
  // The clocks (signing time, retry budget), sleeps and jitter. Never null; must outlive the client.
  Env* env = Env::Default();
  // When not null (it must then outlive the client), no attempt starts once it has passed, each attempt's
  // request timeout is cut to the time left, and no retry sleeps past it.
  const Deadline* deadline = nullptr;
};

class AwsClient {
 public:
  // `http` is shared so a client can be moved freely; it must not be used by another thread concurrently.
  // `endpoint` is "http(s)://host[:port]" (no path), `service` the signing name ("dynamodb", "ec2").
  AwsClient(std::shared_ptr<HttpClient> http, std::string endpoint, std::string service, std::string region,
            AwsCredentials credentials, AwsClientOptions options = {});

  // The client for `service` as `config` describes it.
  static AwsClient for_service(std::shared_ptr<HttpClient> http, const AwsConfig& config, AwsService service,
                               AwsClientOptions options = {});

  // POSTs `body` to the endpoint's "/" with `headers` (e.g. X-Amz-Target and Content-Type), signed, with
  // retries. Returns the 2xx response; or the last failure's Status (transport, or the ErrorParser's
  // verdict); or Timeout naming the deadline when options.deadline passed before an attempt could start. When the call ends on a service error and `last_error` is not null, *last_error receives it
  // (otherwise it is left with http_status 0) so callers can tell e.g. a conditional-check failure from
  // other errors by its code.
  Result<HttpResponse> post(const HttpHeaders& headers, std::string body, const ErrorParser& parse_error,
                            ServiceError* last_error = nullptr);

  // The same for any method, path and query: `request.url` is a path relative to the endpoint ("/" or
  // "/?Action=..."); the client makes it absolute.
  Result<HttpResponse> call(HttpRequest request, const ErrorParser& parse_error, ServiceError* last_error = nullptr);

  const AwsCallStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& region() const { return region_; }
  Env* env() const { return options_.env; }

 private:
  std::shared_ptr<HttpClient> http_;
  std::string endpoint_;
  std::string service_;
  std::string region_;
  AwsCredentials credentials_;
  AwsClientOptions options_;
  AwsCallStats stats_;
};

}  // namespace rcc
