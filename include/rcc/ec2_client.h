// Ec2QueryClient: rcc::Ec2 over the EC2 Query API (version 2016-11-15), DescribeInstances only.
//
// Each request is `POST /` with a form body (Action=DescribeInstances&Version=2016-11-15&...), signed with
// SigV4 for service "ec2" and retried by an AwsClient (rcc/aws_request.h): RequestLimitExceeded (HTTP 503)
// and 5xx/transport failures are retried within the client's RetryPolicy, everything else is returned at
// once. Errors map as: InvalidInstanceID.NotFound -> NotFound, InvalidInstanceID.Malformed and other
// validation codes -> InvalidArgument, RequestLimitExceeded -> Throttled, InternalError/Unavailable/5xx ->
// Unavailable, AuthFailure/UnauthorizedOperation -> PermissionDenied, an unreadable 200 -> ProtocolError.
//
// Thread-compatible, like the AwsClient it owns: one Ec2QueryClient per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "rcc/aws_config.h"
#include "rcc/aws_request.h"
#include "rcc/ec2.h"
#include "rcc/http.h"
#include "rcc/status.h"

namespace rcc {

struct Ec2QueryClientOptions {
  // MaxResults of each filtered page, 5..1000 (EC2's bounds; out-of-range values are clamped).
  int max_results = 1000;
};

class Ec2QueryClient : public Ec2 {
 public:
  using Options = Ec2QueryClientOptions;

  // Sends through `aws`, which must be an AwsClient for service "ec2".
  explicit Ec2QueryClient(AwsClient aws);
  Ec2QueryClient(AwsClient aws, Options options);

  // The client for `config`'s EC2 endpoint, region and credentials.
  static Ec2QueryClient for_config(std::shared_ptr<HttpClient> http, const AwsConfig& config,
                                   AwsClientOptions aws_options = {}, Options options = {});

  // DescribeInstances with InstanceId.1 = `instance_id`. Returns the instance; NotFound when EC2 answers
  // InvalidInstanceID.NotFound (or an empty reservationSet); InvalidArgument for a malformed id; the last
  // failure once retries are spent; ProtocolError when the answer describes another instance.
  Result<Ec2Instance> describe_instance(std::string_view instance_id) override;

  // DescribeInstances with `filters` and MaxResults, following nextToken to the last page. Returns every
  // instance of every page, or the first failure (retries spent); ProtocolError when EC2 repeats a token.
  Result<std::vector<Ec2Instance>> describe_instances(const std::vector<Ec2Filter>& filters) override;

  // HTTP requests sent so far: every page and every retry.
  std::int64_t requests_sent() const override { return aws_.stats().requests_sent; }

  // The underlying counters (retries, bytes, errors).
  const AwsCallStats& stats() const { return aws_.stats(); }

 private:
  Result<HttpResponse> post(std::string body);

  AwsClient aws_;
  Options options_;
};

}  // namespace rcc
