// The EC2 Query API wire format (version 2016-11-15) for DescribeInstances, without any transport:
// building the form body, parsing a response page, and mapping an error answer to a Status.
//
// Pure functions, safe to call from any thread. Ec2QueryClient (rcc/ec2_client.h) sends what these build.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rcc/ec2.h"
#include "rcc/status.h"

namespace rcc::ec2_query {

inline constexpr std::string_view kApiVersion = "2016-11-15";
inline constexpr std::string_view kContentType = "application/x-www-form-urlencoded; charset=utf-8";
// EC2 accepts MaxResults between 5 and 1000; 1000 keeps the number of pages (and requests) lowest.
inline constexpr int kMaxResults = 1000;

// `text` percent-encoded as RFC 3986 asks (unreserved characters kept, every other byte as %XX uppercase),
// which is what AWS Query APIs accept in keys and values.
std::string form_encode(std::string_view text);

// "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=<id>".
std::string describe_instance_body(std::string_view instance_id);

// "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=..&Filter.1.Value.1=..&MaxResults=<n>"
// followed by "&NextToken=<token>" when `next_token` is not empty. Filters and values are numbered from 1
// in the order given.
std::string describe_instances_body(const std::vector<Ec2Filter>& filters, int max_results,
                                    std::string_view next_token);

// One page of a DescribeInstances answer.
struct DescribeInstancesPage {
  std::vector<Ec2Instance> instances;  // every instancesSet item of every reservation, in document order
  std::string next_token;              // "" on the last page
};

// Parses a DescribeInstancesResponse document.
// Returns ProtocolError when the text is not well-formed XML, the root is not DescribeInstancesResponse,
// or an instance lacks an instanceId, carries an unknown state name or a launchTime that is not RFC 3339.
Result<DescribeInstancesPage> parse_describe_instances(std::string_view xml);

// An EC2 error answer: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.
struct Ec2Error {
  std::string code;  // e.g. "InvalidInstanceID.NotFound"
  std::string message;
  std::string request_id;
};

// Parses the first Error of an EC2 error document. Returns ProtocolError when the text is not
// well-formed XML or has no Response/Errors/Error/Code.
Result<Ec2Error> parse_error(std::string_view xml);

// The Status for an error code: InvalidInstanceID.NotFound -> NotFound; RequestLimitExceeded -> Throttled;
// InternalError, Unavailable and other server codes -> Unavailable; AuthFailure, UnauthorizedOperation and
// the other credential and signature codes -> PermissionDenied; validation codes (InvalidInstanceID.Malformed,
// InvalidParameterValue, ...) -> InvalidArgument. An unknown code is Unavailable for HTTP 5xx and
// InvalidArgument otherwise.
Code error_code_for(std::string_view ec2_code, int http_status);

// The Status for a non-200 answer with `body`: the code mapped by error_code_for(), with a message naming
// the EC2 code, its message, the request id and the HTTP status. A body that is not EC2 error XML (a proxy
// or load balancer page) is classified by the HTTP status alone: 429 -> Throttled, 408 -> Timeout,
// 5xx -> Unavailable (all retryable), any other -> ProtocolError.
Status error_status(int http_status, std::string_view body);

}  // namespace rcc::ec2_query
