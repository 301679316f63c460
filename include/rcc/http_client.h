// BeastHttpClient: the production HttpClient, HTTP/1.1 over TCP or TLS with Boost.Beast/Asio and OpenSSL.
//
// One keep-alive connection per endpoint (scheme, host, port) per client object. A request sent on a
// reused connection that turns out to be closed by the peer is retried once on a fresh connection; a
// request that failed on a fresh connection is returned as a failure (retries belong to rcc/retry.h).
//
// Thread-compatible: use one client per thread. Boost and OpenSSL stay out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rcc/env.h"
#include "rcc/http.h"

namespace rcc {

// The CA bundle to verify servers with: SSL_CERT_FILE when set, else the first existing of
// /etc/pki/tls/certs/ca-bundle.crt (Amazon Linux 2023) and /etc/ssl/certs/ca-certificates.crt (Debian),
// else "" (no bundle found: https requests then fail verification).
std::string default_ca_file(Env& env);

struct BeastHttpClientOptions {
  std::string ca_file;        // "" means default_ca_file(*env)
  bool verify_peer = true;    // verify the certificate chain and the host name (keep true outside tests)
  bool keep_alive = true;     // false: a new connection for every request (benchmarks)
  std::string user_agent = "runner-count-cache/0.1";
  Env* env = Env::Default();  // where SSL_CERT_FILE is read; never null, must outlive the client
};

class BeastHttpClient : public HttpClient {
 public:
  struct Stats {
    std::int64_t requests = 0;             // send() calls that wrote a request
    std::int64_t connections_opened = 0;   // TCP (and TLS) connections established
    std::int64_t reconnects = 0;           // requests resent once because a reused connection was closed
  };

  explicit BeastHttpClient(BeastHttpClientOptions options = {});
  ~BeastHttpClient() override;
  BeastHttpClient(const BeastHttpClient&) = delete;
  BeastHttpClient& operator=(const BeastHttpClient&) = delete;

  // See HttpClient::send. Adds Host (when absent), Content-Length and User-Agent. Returns InvalidArgument
  // for a URL that is not http(s)://host[:port][/path], Unavailable for refused/reset/closed connections
  // (also during the TLS handshake) and DNS failures, Timeout when timeouts.connect or timeouts.request
  // passes, ProtocolError (not retryable; the message names the host) when the TLS handshake fails in
  // OpenSSL, e.g. the certificate fails verification, IoError when the CA file cannot be loaded.
  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& timeouts) override;

  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The parts of an absolute http(s) URL.
struct ParsedUrl {
  bool https = false;
  std::string host;         // without brackets or port
  std::uint16_t port = 0;   // explicit or the scheme's default
  std::string target;       // path and query, "/" when empty
  bool default_port = true; // the URL named no port, or the scheme's default one
};

// Parses `url`. Returns InvalidArgument unless it is http(s)://host[:port][/path][?query].
Result<ParsedUrl> parse_url(std::string_view url);

}  // namespace rcc
