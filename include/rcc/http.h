// HTTP/1.1 client over plain TCP or TLS, behind an interface so tests and the simulator can swap it.
//
// Transport failures (connect refused, reset, timeout, TLS failure) are returned as a Status; any HTTP
// answer, 4xx and 5xx included, is a response. Retries live above this layer (rcc/retry.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rcc/status.h"

namespace rcc {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute: http://host[:port]/path?query or https://...
  HttpHeaders headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  // The first header named `name` (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{3000};
  // Whole-request deadline (write + read). Zero means no deadline (the Lambda Runtime API's /next).
  std::chrono::milliseconds request{10000};
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` and returns the response, or Unavailable (refused, reset, closed), Timeout,
  // InvalidArgument (bad URL), or ProtocolError (a TLS handshake or certificate verification failure,
  // which would fail again). Implementations keep one keep-alive connection per endpoint.
  virtual Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& timeouts) = 0;
};

}  // namespace rcc
