#include "rcc/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <filesystem>
#include <map>
#include <optional>

namespace rcc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

std::string default_ca_file(Env& env) {
  if (auto value = env.getenv("SSL_CERT_FILE")) return *value;
  for (const char* path : {"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return "";
}

Result<ParsedUrl> parse_url(std::string_view url) {
  ParsedUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("URL must start with http:// or https://: " + std::string(url));
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("URL with user info is not supported: " + std::string(url));
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("bad IPv6 host in URL: " + std::string(url));
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("bad host in URL: " + std::string(url));
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Status::InvalidArgument("URL without host: " + std::string(url));
  const std::uint16_t default_port = out.https ? 443 : 80;
  out.port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return Status::InvalidArgument("bad port in URL: " + std::string(url));
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.default_port = out.port == default_port;
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

// One open connection to one endpoint.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
  bool open() { return (plain || tls) && lowest().socket().is_open(); }
  void close() {
    if (plain || tls) {
      error_code ignored;
      lowest().socket().close(ignored);
    }
    plain.reset();
    tls.reset();
    buffer.clear();
  }
};

Status transport_status(const error_code& ec, std::string_view what, const std::string& endpoint) {
  std::string message = std::string(what) + " " + endpoint + ": " + ec.message();
  if (ec == beast::error::timeout || ec == asio::error::timed_out) return Status::Timeout(std::move(message));
  return Status::Unavailable(std::move(message));
}

// The Status of a failed TLS handshake with `host`. A failure OpenSSL itself reports (the asio.ssl
// category: the certificate fails verification, no shared protocol or cipher, not TLS at all) will fail
// the same way on every attempt, so it is a ProtocolError and not retried. A transport failure during the
// handshake (reset, EOF, stream truncated, timeout) is retryable like any other.
Status tls_handshake_status(const error_code& ec, SSL* ssl, const std::string& host, const std::string& endpoint) {
  if (ec.category() != asio::error::get_ssl_category()) return transport_status(ec, "TLS handshake with", endpoint);
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return Status::ProtocolError("TLS handshake with " + endpoint + " failed: certificate verification failed for host " +
                                 host + ": " + X509_verify_cert_error_string(verify) + " (" + ec.message() + ")");
  }
  return Status::ProtocolError("TLS handshake with " + endpoint + " failed for host " + host + ": " + ec.message());
}

// Errors that mean "the peer closed the idle connection before reading our request".
bool is_stale_connection_error(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == asio::ssl::error::stream_truncated || ec == http::error::partial_message;
}

}  // namespace

struct BeastHttpClient::Impl {
  explicit Impl(BeastHttpClientOptions o) : options(std::move(o)) {}

  BeastHttpClientOptions options;
  asio::io_context ioc;
  std::optional<asio::ssl::context> ssl_ctx;
  std::map<std::string, Connection> connections;  // "scheme://host:port" -> connection
  Stats stats;

  // Runs the io_context until the started operation completes.
  void run() {
    ioc.restart();
    ioc.run();
  }

  Status ensure_ssl_context() {
    if (ssl_ctx) return Status();
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3);
    if (options.verify_peer) {
      const std::string ca = options.ca_file.empty() ? default_ca_file(*options.env) : options.ca_file;
      if (ca.empty()) {
        return Status::IoError(
            "no CA bundle: set SSL_CERT_FILE or install /etc/pki/tls/certs/ca-bundle.crt or "
            "/etc/ssl/certs/ca-certificates.crt");
      }
      error_code ec;
      ctx.load_verify_file(ca, ec);
      if (ec) return Status::IoError("cannot load CA bundle " + ca + ": " + ec.message());
      ctx.set_verify_mode(asio::ssl::verify_peer);
    } else {
      ctx.set_verify_mode(asio::ssl::verify_none);
    }
    ssl_ctx.emplace(std::move(ctx));
    return Status();
  }

  // Resolves, connects and (for https) handshakes within the connect timeout and the request deadline.
  Status connect(Connection& conn, const ParsedUrl& url, const std::string& endpoint,
                 std::chrono::milliseconds connect_timeout, std::optional<Clock::time_point> deadline) {
    conn.close();
    Clock::time_point limit = Clock::now() + connect_timeout;
    if (connect_timeout.count() <= 0) limit = Clock::time_point::max();
    if (deadline && *deadline < limit) limit = *deadline;

    tcp::resolver resolver(ioc);
    asio::steady_timer timer(ioc);
    error_code ec;
    tcp::resolver::results_type endpoints;
    bool timed_out = false;
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](const error_code& e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    if (limit != Clock::time_point::max()) {
      timer.expires_at(limit);
      timer.async_wait([&](const error_code& e) {
        if (!e) {
          timed_out = true;
          resolver.cancel();
        }
      });
    }
    run();
    if (timed_out) return Status::Timeout("resolving " + endpoint + ": timed out");
    if (ec) return Status::Unavailable("resolving " + endpoint + ": " + ec.message());

    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    if (limit != Clock::time_point::max()) stream->expires_at(limit);
    stream->async_connect(endpoints, [&](const error_code& e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) return transport_status(ec, "connecting to", endpoint);
    stream->socket().set_option(tcp::no_delay(true), ec);
    ++stats.connections_opened;

    if (!url.https) {
      stream->expires_never();
      conn.plain = std::move(stream);
      return Status();
    }
    Status s = ensure_ssl_context();
    if (!s.ok()) return s;
    auto tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), *ssl_ctx);
    SSL* ssl = tls->native_handle();
    if (!SSL_set_tlsext_host_name(ssl, url.host.c_str())) {
      return Status::Unavailable("TLS: cannot set SNI host name " + url.host);
    }
    if (options.verify_peer) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (!X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size())) {
        return Status::Unavailable("TLS: cannot set the expected host name " + url.host);
      }
    }
    if (limit != Clock::time_point::max()) beast::get_lowest_layer(*tls).expires_at(limit);
    tls->async_handshake(asio::ssl::stream_base::client, [&](const error_code& e) { ec = e; });
    run();
    if (ec) return tls_handshake_status(ec, ssl, url.host, endpoint);
    beast::get_lowest_layer(*tls).expires_never();
    conn.tls = std::move(tls);
    return Status();
  }

  // Writes `req` and reads the answer on `stream`. `got_bytes` tells whether any of the answer arrived.
  template <typename Stream>
  Result<HttpResponse> exchange(Stream& stream, Connection& conn, http::request<http::string_body>& req,
                                std::optional<Clock::time_point> deadline, const std::string& endpoint,
                                error_code& failure, bool& got_bytes) {
    if (deadline) {
      conn.lowest().expires_at(*deadline);
    } else {
      conn.lowest().expires_never();
    }
    error_code ec;
    http::async_write(stream, req, [&](const error_code& e, std::size_t) { ec = e; });
    run();
    if (ec) {
      failure = ec;
      return transport_status(ec, "sending to", endpoint);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.header_limit(64 * 1024);
    http::async_read(stream, conn.buffer, parser, [&](const error_code& e, std::size_t) { ec = e; });
    run();
    got_bytes = parser.got_some();
    if (ec) {
      failure = ec;
      return transport_status(ec, "reading from", endpoint);
    }
    conn.lowest().expires_never();
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      const auto name = field.name_string();
      const auto value = field.value();
      out.headers.emplace_back(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive() || !options.keep_alive) conn.close();
    return out;
  }
};

BeastHttpClient::BeastHttpClient(BeastHttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

BeastHttpClient::~BeastHttpClient() = default;

BeastHttpClient::Stats BeastHttpClient::stats() const { return impl_->stats; }

Result<HttpResponse> BeastHttpClient::send(const HttpRequest& request, const HttpTimeouts& timeouts) {
  auto url = parse_url(request.url);
  if (!url.ok()) return url.status();
  const std::string endpoint =
      std::string(url->https ? "https://" : "http://") + url->host + ":" + std::to_string(url->port);
  std::optional<Clock::time_point> deadline;
  if (timeouts.request.count() > 0) deadline = Clock::now() + timeouts.request;

  http::request<http::string_body> req;
  const auto verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) return Status::InvalidArgument("unknown HTTP method " + request.method);
  req.method(verb);
  req.target(beast::string_view(url->target));
  req.version(11);
  bool has_host = false;
  bool has_user_agent = false;
  for (const auto& [name, value] : request.headers) {
    if (beast::iequals(name, "host")) has_host = true;
    if (beast::iequals(name, "user-agent")) has_user_agent = true;
    if (beast::iequals(name, "content-length")) continue;  // set from the body below
    req.insert(name, value);
  }
  if (!has_host) {
    std::string host = url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
    if (!url->default_port) host += ":" + std::to_string(url->port);
    req.set(http::field::host, host);
  }
  if (!has_user_agent && !impl_->options.user_agent.empty()) req.set(http::field::user_agent, impl_->options.user_agent);
  req.keep_alive(impl_->options.keep_alive);
  req.body() = request.body;
  req.prepare_payload();
  if (request.body.empty() && (verb == http::verb::post || verb == http::verb::put)) {
    req.set(http::field::content_length, "0");
  }

  Connection& conn = impl_->connections[endpoint];
  bool reused = conn.open();
  ++impl_->stats.requests;
  for (int attempt = 0;; ++attempt) {
    if (!conn.open()) {
      Status s = impl_->connect(conn, *url, endpoint, timeouts.connect, deadline);
      if (!s.ok()) {
        conn.close();
        return s;
      }
    }
    error_code failure;
    bool got_bytes = false;
    Result<HttpResponse> out = conn.plain
        ? impl_->exchange(*conn.plain, conn, req, deadline, endpoint, failure, got_bytes)
        : impl_->exchange(*conn.tls, conn, req, deadline, endpoint, failure, got_bytes);
    if (out.ok()) return out;
    conn.close();
    if (reused && attempt == 0 && !got_bytes && is_stale_connection_error(failure)) {
      ++impl_->stats.reconnects;
      reused = false;
      continue;
    }
    return out;
  }
}

}  // namespace rcc
