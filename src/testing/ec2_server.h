// Ec2TestServer: an HTTP/1.1 server on 127.0.0.1 that speaks the EC2 Query API (version 2016-11-15) for
// DescribeInstances from an in-memory inventory, for tests, the simulator and the end-to-end smoke test.
//
// What it implements, as EC2 documents it:
// - DescribeInstances by InstanceId.N (an unknown id answers HTTP 400 InvalidInstanceID.NotFound, a malformed
//   one InvalidInstanceID.Malformed) and by Filter.N.Name/Filter.N.Value.M with the filters instance-id,
//   instance-state-name, tag:<key> and tag-key (values OR'ed within a filter, '*' and '?' wildcards;
//   filters AND'ed); MaxResults (5..1000, not with InstanceId) and NextToken pagination. Instances are
//   returned in instance-id order; a page token names the last id returned, so instances launched or removed
//   between pages do not shift the rest. Without MaxResults every match is returned in one answer.
// - POST form bodies (application/x-www-form-urlencoded) and GET query strings on path "/".
// - HTTP 401 AuthFailure when the Authorization header is missing or is not shaped
//   "AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/ec2/aws4_request, SignedHeaders=<...;host;...>,
//   Signature=<64 hex>". The signature value is not verified.
// - A token bucket (burst, refill per second; EC2's non-mutating defaults 100 and 20) answering HTTP 503
//   RequestLimitExceeded when empty.
// Fault injection (failures, throttles, not-found answers, latency) and inventory changes are available as
// methods and as JSON endpoints under /_control/ (see kEc2ControlHelp); control requests need no
// Authorization, take no token and are not counted as EC2 requests.
//
// Layout: the transport is the shared TestHttpServer (testing/http_test_server.h), one thread per
// connection; the filter semantics are core/ec2_filter.h's; form parsing and the XML written are
// testing/ec2_server_wire.h; ec2_server.cc keeps the inventory, faults, the bucket and the control plane.
//
// Thread safety: every public method may be called from any thread while the server runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rcc/ec2.h"
#include "rcc/env.h"
#include "rcc/status.h"

namespace rcc {

struct Ec2ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port; port() reports it
  // Token bucket: `burst` tokens, refilled at `refill_per_s` per second. burst <= 0 disables throttling.
  int burst = 100;
  double refill_per_s = 20.0;
  // Latency added to every EC2 answer: fixed, plus per instance returned.
  std::chrono::milliseconds latency{0};
  std::chrono::microseconds latency_per_instance{0};
  // Requests kept in request_log(); older ones are dropped.
  std::size_t log_capacity = 10000;
  // The bucket refills on env->monotonic_ms() (a test shares a VirtualEnv with its client, so throttling
  // and the client's backoff run on one virtual clock); launch times default to env->wall_ms(). Never
  // null; must outlive the server.
  Env* env = Env::Default();
};

// One EC2 request as the server saw it.
struct Ec2ServerRequest {
  std::int64_t sequence = 0;                                 // 1 for the first request
  std::vector<std::pair<std::string, std::string>> params;  // decoded form/query parameters, in order
  int http_status = 0;
  std::string error_code;          // "" on success
  std::int64_t instances_returned = 0;

  // The first parameter named `name`, "" when absent.
  std::string param(std::string_view name) const;
};

// Counters since start (or since the last reset_counters()).
struct Ec2ServerStats {
  std::int64_t requests = 0;        // EC2 requests received (control requests excluded)
  std::int64_t succeeded = 0;       // answered 200
  std::int64_t throttled = 0;       // answered RequestLimitExceeded (bucket or injected)
  std::int64_t failed = 0;          // answered any other error
  std::int64_t instances_returned = 0;
};

// Documentation of the /_control/ endpoints, printed by `ec2-test-server --help`.
extern const char* const kEc2ControlHelp;

// Parses the inventory format {"instances":[{"instance_id":"i-...","state":"running",
// "launch_time":"RFC3339","tags":{"k":"v"}}]}; state defaults to running and launch_time to `now_ms`.
// Returns InvalidArgument naming the entry when an id is malformed or duplicated, a state unknown, a
// launch_time not RFC 3339 or a tag value not a string.
Result<std::vector<Ec2Instance>> parse_ec2_inventory(std::string_view json, std::int64_t now_ms);

class Ec2TestServer {
 public:
  // Binds host:port, starts serving on its own threads and returns once listening.
  // Returns IoError when the address cannot be bound, InvalidArgument for a bad host.
  static Result<std::unique_ptr<Ec2TestServer>> start(Ec2ServerOptions options);

  // Stops: closes the listener and every connection, joins the threads.
  ~Ec2TestServer();
  Ec2TestServer(const Ec2TestServer&) = delete;
  Ec2TestServer& operator=(const Ec2TestServer&) = delete;

  // Stops serving (idempotent); in-flight latency waits are cut short.
  void stop();

  std::uint16_t port() const;
  // "http://127.0.0.1:<port>", the endpoint to give a client.
  std::string endpoint() const;

  // Inventory. launch() adds an instance or replaces the one with the same id. set_state(), terminate()
  // (state terminated: still described, as EC2 does for a while) and remove() (gone: NotFound) return
  // false when the id is unknown.
  void launch(Ec2Instance instance);
  void launch_all(std::vector<Ec2Instance> instances);
  bool set_state(std::string_view instance_id, InstanceState state);
  bool terminate(std::string_view instance_id);
  bool remove(std::string_view instance_id);
  void clear_inventory();
  std::vector<Ec2Instance> instances() const;
  std::size_t instance_count() const;

  // Faults, each consumed by the next EC2 requests that pass the Authorization check, before the bucket.
  // The next `count` requests answer `http_status` with error `code`.
  void fail_next(int count, int http_status = 500, std::string code = "InternalError");
  // The next `count` requests answer `http_status` with `body` as it is (an HTML error page from a proxy, a
  // truncated or malformed document); they are counted as failed.
  void answer_next(int count, int http_status, std::string content_type, std::string body);
  // The next `count` requests answer 503 RequestLimitExceeded.
  void throttle_next(int count);
  // The next `count` requests naming `instance_id` in InstanceId.N answer InvalidInstanceID.NotFound, as
  // EC2 does for an instance too new for its eventually consistent API.
  void not_found_next(std::string instance_id, int count);
  // Drops every pending injected fault.
  void clear_faults();

  // Replaces the latency and the token bucket settings (the bucket starts full).
  void set_latency(std::chrono::milliseconds fixed, std::chrono::microseconds per_instance);
  void set_bucket(int burst, double refill_per_s);

  Ec2ServerStats stats() const;
  std::int64_t requests() const { return stats().requests; }
  // Blocks until at least `count` EC2 requests have been counted (an answer may still be on its way, e.g.
  // waiting on the latency), or until the server stops.
  void wait_for_requests(std::int64_t count) const;
  // The most recent requests, oldest first.
  std::vector<Ec2ServerRequest> request_log() const;
  void reset_counters();

 private:
  struct State;  // shared with the accept and connection threads
  explicit Ec2TestServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace rcc
