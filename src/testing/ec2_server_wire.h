// The EC2 test server's wire format (private to src/testing): parsing the Query API's form-encoded
// parameters and checking the shape of a SigV4 Authorization header on the way in; the XML of
// DescribeInstances items and of EC2 error answers on the way out, written the way EC2 writes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rcc/ec2.h"
#include "rcc/event.h"

namespace rcc::ec2_wire {

using Params = std::vector<std::pair<std::string, std::string>>;

// `text` with "+" as a space and %XX escapes decoded; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text);

// Appends the pairs of "a=b&c=d" (percent-decoded) to `params`; false when an escape is malformed.
bool parse_form(std::string_view text, Params& params);

// True when `header` is shaped "AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/ec2/aws4_request,
// SignedHeaders=<...;host;...>, Signature=<64 hex>" (the signature itself is not verified).
bool well_formed_authorization(std::string_view header);

// The "N" of "<prefix>N<rest>" where N is a positive integer (rest goes to *rest); nullopt otherwise.
std::optional<int> index_after(std::string_view key, std::string_view prefix, std::string_view* rest);

// The request id of the `sequence`-th request, shaped as EC2's (a UUID).
std::string request_id(std::int64_t sequence);

// Element text escaped for XML (&, <, >; the server writes no attributes).
std::string xml_escape(std::string_view text);

// EC2's numeric code of `state` (pending 0, running 16, shutting-down 32, terminated 48, stopping 64,
// stopped 80).
int state_code(InstanceState state);

// "2021-11-11T21:29:54.000Z", the way EC2 writes launchTime.
std::string ec2_time(std::int64_t ms);

// The XML body of an EC2 error answer: <Response><Errors><Error><Code>..</Code><Message>..</Message>...
std::string ec2_error_xml(std::string_view code, std::string_view message, std::string_view id);

// Appends one reservation <item> holding `instance` (id, state, launch time, tags) to `out`.
void append_instance_xml(std::string& out, const Ec2Instance& instance);

}  // namespace rcc::ec2_wire
