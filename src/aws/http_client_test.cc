// BeastHttpClient against a Beast HTTP server running inside the test process on 127.0.0.1.
#include "rcc/http_client.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "testing/http_test_server.h"

namespace rcc {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// Answers by path, on the shared test-server base: /ok (200, keep-alive), /500, /slow (answers once
// release_slow() is called, or after 1.5 s), /reset (resets the connection without an answer),
// /close-after (answers, then closes the connection as an idle-timeout would), /echo (the request body and
// Host header). Counts accepted and closed connections.
class TestServer {
 public:
  TestServer() {
    auto started = TestHttpServer::start({}, [this](const HttpRequest& request) { return answer(request); });
    if (!started.ok()) throw std::runtime_error(started.status().to_string());
    server_ = std::move(*started);
  }

  ~TestServer() {
    release_slow();
    server_->stop();
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  int connections() const { return static_cast<int>(server_->connections()); }
  // Blocks until the server has closed `count` connections.
  void wait_for_closed(int count) const { server_->wait_for_closed(count); }
  // Lets every waiting and future /slow answer go at once.
  void release_slow() {
    {
      std::lock_guard lock(mu_);
      slow_released_ = true;
    }
    slow_cv_.notify_all();
  }

 private:
  TestHttpAnswer answer(const HttpRequest& request) {
    TestHttpAnswer out;
    const std::string& target = request.url;
    if (target == "/reset") {
      out.kind = TestHttpAnswer::Kind::kReset;
      return out;
    }
    if (target == "/slow") {
      std::unique_lock lock(mu_);
      slow_cv_.wait_for(lock, std::chrono::milliseconds(1500), [this] { return slow_released_; });
    }
    out.response.status = 200;
    out.response.body = "hello";
    if (target == "/500") {
      out.response.status = 500;
      out.response.body = "boom";
    } else if (target == "/echo") {
      out.response.body = std::string(request_header(request, "Host")) + "|" + request.body;
    }
    out.response.headers.emplace_back("X-Test", "yes");
    if (target == "/close-after") out.kind = TestHttpAnswer::Kind::kRespondAndClose;
    return out;
  }

  std::mutex mu_;
  std::condition_variable slow_cv_;
  bool slow_released_ = false;  // guarded by mu_
  std::unique_ptr<TestHttpServer> server_;
};

HttpTimeouts quick() { return {std::chrono::milliseconds(2000), std::chrono::milliseconds(5000)}; }

TEST(BeastHttpClient, ReusesOneConnectionForManyRequests) {
  TestServer server;
  BeastHttpClient client;
  for (int i = 0; i < 5; ++i) {
    auto res = client.send({"GET", server.url("/ok"), {}, ""}, quick());
    ASSERT_TRUE(res.ok()) << res.status().to_string();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hello");
    EXPECT_EQ(res->header("x-test"), "yes");
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.stats().connections_opened, 1);
  EXPECT_EQ(client.stats().requests, 5);
}

TEST(BeastHttpClient, NewConnectionPerRequestWhenKeepAliveIsOff) {
  TestServer server;
  BeastHttpClientOptions options;
  options.keep_alive = false;
  BeastHttpClient client(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.send({"GET", server.url("/ok"), {}, ""}, quick()).ok());
  EXPECT_EQ(server.connections(), 3);
}

TEST(BeastHttpClient, SendsBodyAndHost) {
  TestServer server;
  BeastHttpClient client;
  auto res = client.send({"POST", server.url("/echo"), {{"Content-Type", "text/plain"}}, "payload"}, quick());
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "127.0.0.1:" + server.url("").substr(17) + "|payload");
}

TEST(BeastHttpClient, ServerErrorIsAResponse) {
  TestServer server;
  BeastHttpClient client;
  auto res = client.send({"GET", server.url("/500"), {}, ""}, quick());
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, "boom");
}

TEST(BeastHttpClient, ReconnectsOnceWhenTheReusedConnectionWasClosed) {
  TestServer server;
  BeastHttpClient client;
  ASSERT_TRUE(client.send({"GET", server.url("/close-after"), {}, ""}, quick()).ok());
  // The server has closed its end, so the next write or read on the reused socket fails.
  server.wait_for_closed(1);
  auto res = client.send({"GET", server.url("/ok"), {}, ""}, quick());
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "hello");
  EXPECT_EQ(server.connections(), 2);
}

TEST(BeastHttpClient, ResetOnAFreshConnectionIsUnavailable) {
  TestServer server;
  BeastHttpClient client;
  auto res = client.send({"GET", server.url("/reset"), {}, ""}, quick());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUnavailable) << res.status().to_string();
  EXPECT_TRUE(res.status().retryable());
  // The client recovers on the next request.
  EXPECT_TRUE(client.send({"GET", server.url("/ok"), {}, ""}, quick()).ok());
}

TEST(BeastHttpClient, RequestDeadlineGivesTimeout) {
  TestServer server;
  BeastHttpClient client;
  auto res = client.send({"GET", server.url("/slow"), {}, ""},
                         {std::chrono::milliseconds(2000), std::chrono::milliseconds(200)});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kTimeout) << res.status().to_string();
  server.release_slow();
  // A timed-out connection is not reused: the next request opens a new one and succeeds.
  EXPECT_TRUE(client.send({"GET", server.url("/ok"), {}, ""}, quick()).ok());
  EXPECT_EQ(server.connections(), 2);
}

TEST(BeastHttpClient, ZeroRequestTimeoutMeansNoDeadline) {
  TestServer server;
  BeastHttpClient client;
  auto res = client.send({"GET", server.url("/slow"), {}, ""}, {std::chrono::milliseconds(2000), std::chrono::milliseconds(0)});
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "hello");
}

// A listener whose accept queue is full drops new SYNs, so a connect hangs until the connect timeout.
TEST(BeastHttpClient, ConnectTimeoutGivesTimeout) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  // Fill the accept queue (never accepted).
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BeastHttpClient client;
  auto res = client.send({"GET", "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", {}, ""},
                         {std::chrono::milliseconds(300), std::chrono::milliseconds(5000)});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kTimeout) << res.status().to_string();
  for (int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST(BeastHttpClient, RefusedConnectionIsUnavailable) {
  std::uint16_t port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  BeastHttpClient client;
  auto res = client.send({"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, ""}, quick());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUnavailable) << res.status().to_string();
}

TEST(BeastHttpClient, BadUrlIsInvalidArgument) {
  BeastHttpClient client;
  EXPECT_EQ(client.send({"GET", "127.0.0.1:80/", {}, ""}, quick()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(client.send({"GET", "http://:80/", {}, ""}, quick()).status().code(), Code::kInvalidArgument);
}

// A TLS handshake with a plain-HTTP server fails as a transport error, not a crash or a hang.
TEST(BeastHttpClient, TlsToPlainServerIsUnavailable) {
  TestServer server;
  BeastHttpClientOptions options;
  options.verify_peer = false;
  BeastHttpClient client(options);
  std::string url = server.url("/ok");
  url.replace(0, 4, "https");
  auto res = client.send({"GET", url, {}, ""}, quick());
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.status().code() == Code::kUnavailable || res.status().code() == Code::kTimeout)
      << res.status().to_string();
  // The server resets the connection during the handshake: a transport failure, still retried (unlike a
  // certificate that fails verification, below).
  EXPECT_TRUE(res.status().retryable()) << res.status().to_string();
}


// ---- TLS: a self-signed certificate made at run time, served by a one-connection-at-a-time TLS server ----

// A P-256 key and a self-signed certificate for `dns_name` (subject CN and subjectAltName), as PEM.
struct TestCertificate {
  std::string certificate_pem;
  std::string key_pem;
};

TestCertificate make_certificate(const std::string& dns_name) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  const std::string san = "DNS:" + dns_name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_EXTENSION* ca = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(cert, ca, -1);
  X509_EXTENSION_free(ca);
  X509_sign(cert, key, EVP_sha256());

  TestCertificate out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  out.certificate_pem.assign(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  size = BIO_get_mem_data(bio, &data);
  out.key_pem.assign(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

// Serves HTTPS on 127.0.0.1 with `certificate`; answers "secure" to every request. Records the SNI name.
class TlsTestServer {
 public:
  explicit TlsTestServer(const TestCertificate& certificate)
      : ssl_(asio::ssl::context::tls_server),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ssl_.use_certificate_chain(asio::buffer(certificate.certificate_pem));
    ssl_.use_private_key(asio::buffer(certificate.key_pem), asio::ssl::context::pem);
    SSL_CTX_set_tlsext_servername_callback(ssl_.native_handle(), &TlsTestServer::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ssl_.native_handle(), this);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }

  ~TlsTestServer() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    poke.close(ec);
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  std::string server_name() {
    std::lock_guard<std::mutex> lock(mutex_);
    return server_name_;
  }

 private:
  static int on_server_name(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<TlsTestServer*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->server_name_ = name != nullptr ? name : "";
    return SSL_TLSEXT_ERR_OK;
  }

  void serve() {
    for (;;) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_ || ec) return;
      asio::ssl::stream<tcp::socket> stream(std::move(socket), ssl_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused our certificate
      boost::beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> req;
        http::read(stream, buffer, req, ec);
        if (ec) break;
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "secure";
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        http::write(stream, res, ec);
        if (ec || !req.keep_alive()) break;
      }
      stream.shutdown(ec);
    }
  }

  asio::io_context ioc_;
  asio::ssl::context ssl_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::string server_name_;
};

// The certificate as a CA bundle file, removed at scope exit.
struct CaFile {
  explicit CaFile(const std::string& pem)
      : path(std::filesystem::temp_directory_path() /
             ("rcc-ca-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pem")) {
    std::ofstream(path) << pem;
  }
  ~CaFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
  static inline int counter = 0;
};

TEST(BeastHttpClientTls, VerifiesTheChainAndTheHostNameAndSendsSni) {
  const TestCertificate cert = make_certificate("localhost");
  TlsTestServer server(cert);
  CaFile ca(cert.certificate_pem);
  BeastHttpClientOptions options;
  options.ca_file = ca.path.string();
  BeastHttpClient client(options);
  const std::string url = "https://localhost:" + std::to_string(server.port()) + "/";
  for (int i = 0; i < 2; ++i) {
    auto res = client.send({"GET", url, {}, ""}, quick());
    ASSERT_TRUE(res.ok()) << res.status().to_string();
    EXPECT_EQ(res->body, "secure");
  }
  EXPECT_EQ(server.server_name(), "localhost");
  EXPECT_EQ(client.stats().connections_opened, 1);
}

TEST(BeastHttpClientTls, RejectsACertificateForAnotherName) {
  const TestCertificate cert = make_certificate("dynamodb.example.com");
  TlsTestServer server(cert);
  CaFile ca(cert.certificate_pem);
  BeastHttpClientOptions options;
  options.ca_file = ca.path.string();
  BeastHttpClient client(options);
  auto res = client.send({"GET", "https://localhost:" + std::to_string(server.port()) + "/", {}, ""}, quick());
  ASSERT_FALSE(res.ok());
  // A certificate that fails verification fails again: not retried (regression: it was Unavailable).
  EXPECT_EQ(res.status().code(), Code::kProtocolError) << res.status().to_string();
  EXPECT_FALSE(res.status().retryable());
  EXPECT_NE(res.status().message().find("TLS handshake"), std::string::npos) << res.status().message();
  EXPECT_NE(res.status().message().find("certificate verif"), std::string::npos) << res.status().message();
  EXPECT_NE(res.status().message().find("host localhost"), std::string::npos) << res.status().message();
}

TEST(BeastHttpClientTls, RejectsAnUntrustedCertificate) {
  const TestCertificate cert = make_certificate("localhost");
  const TestCertificate other = make_certificate("localhost");
  TlsTestServer server(cert);
  CaFile ca(other.certificate_pem);  // trusts a different key
  BeastHttpClientOptions options;
  options.ca_file = ca.path.string();
  BeastHttpClient client(options);
  auto res = client.send({"GET", "https://localhost:" + std::to_string(server.port()) + "/", {}, ""}, quick());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kProtocolError) << res.status().to_string();
  EXPECT_FALSE(res.status().retryable());
  EXPECT_NE(res.status().message().find("certificate verification failed for host localhost"), std::string::npos)
      << res.status().message();
}

TEST(BeastHttpClientTls, MissingCaFileIsAnIoError) {
  const TestCertificate cert = make_certificate("localhost");
  TlsTestServer server(cert);
  BeastHttpClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  BeastHttpClient client(options);
  auto res = client.send({"GET", "https://localhost:" + std::to_string(server.port()) + "/", {}, ""}, quick());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kIoError) << res.status().to_string();
  EXPECT_NE(res.status().message().find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(ParseUrl, Parts) {
  auto u = parse_url("https://dynamodb.us-east-1.amazonaws.com");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "dynamodb.us-east-1.amazonaws.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_TRUE(u->default_port);
  auto v = parse_url("http://[::1]:8000/a/b?x=1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->host, "::1");
  EXPECT_EQ(v->port, 8000);
  EXPECT_EQ(v->target, "/a/b?x=1");
  EXPECT_FALSE(v->default_port);
  EXPECT_FALSE(parse_url("http://host:99999/").ok());
  EXPECT_FALSE(parse_url("http://host:x/").ok());
}

TEST(DefaultCaFile, SslCertFileWins) {
  EXPECT_EQ(default_ca_file(*testing::env_with({{"SSL_CERT_FILE", "/custom/ca.pem"}})), "/custom/ca.pem");
  const std::string found = default_ca_file(*testing::env_with({}));
  EXPECT_TRUE(found.empty() || found == "/etc/pki/tls/certs/ca-bundle.crt" ||
              found == "/etc/ssl/certs/ca-certificates.crt")
      << found;
}

}  // namespace
}  // namespace rcc
