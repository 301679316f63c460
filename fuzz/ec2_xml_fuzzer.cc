// Fuzzes the EC2 Query answer parsers: a DescribeInstances page, an error document, the Status an error
// answer maps to, and the client's pagination over such pages.
//
// Properties: no crash, throw or leak; a page that does not parse is a ProtocolError with a message; every
// parsed instance has an id; an error answer is never ok, and one without EC2 error XML is classified by
// its HTTP status alone; the client's page loop ends (a repeated nextToken is refused).
#include <memory>

#include "fuzz_support.h"
#include "aws/ec2_query.h"
#include "rcc/ec2_client.h"

namespace {

void check_error_status(int http_status, std::string_view body, bool is_error_xml) {
  using rcc::fuzz::require;
  const rcc::Status status = rcc::ec2_query::error_status(http_status, body);
  rcc::fuzz::require_explained(status);
  if (is_error_xml) return;
  if (http_status == 429) require(status.code() == rcc::Code::kThrottled, "429 without error XML is Throttled");
  if (http_status >= 500) require(status.code() == rcc::Code::kUnavailable, "5xx without error XML is Unavailable");
  if (http_status == 400) require(status.code() == rcc::Code::kProtocolError, "400 without error XML is ProtocolError");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using rcc::fuzz::require;
  const std::string_view xml = rcc::fuzz::as_text(data, size);

  auto page = rcc::ec2_query::parse_describe_instances(xml);
  if (page.ok()) {
    for (const rcc::Ec2Instance& instance : page->instances) {
      require(!instance.instance_id.empty(), "a parsed instance has an id");
    }
  } else {
    rcc::fuzz::require_explained(page.status());
    require(page.status().code() == rcc::Code::kProtocolError, "an unreadable page is a ProtocolError");
  }

  auto error = rcc::ec2_query::parse_error(xml);
  if (error.ok()) {
    require(!error->code.empty(), "a parsed error has a code");
  } else {
    rcc::fuzz::require_explained(error.status());
  }
  for (int http_status : {400, 429, 500, 503}) check_error_status(http_status, xml, error.ok());

  // The client on the same answer twice: a page with a nextToken is followed once, and the repeated token
  // must end the loop instead of asking again.
  auto http = std::make_shared<rcc::fuzz::ScriptedHttpClient>();
  http->answers = {rcc::fuzz::http_response(200, std::string(xml)), rcc::fuzz::http_response(200, std::string(xml))};
  rcc::VirtualEnv env{1700000000000};
  rcc::Ec2QueryClient client(rcc::fuzz::scripted_aws_client(http, "ec2", env));
  auto listed = client.describe_instances({{"instance-state-name", {"pending", "running"}}});
  require(http->requests.size() <= 2, "the page loop stops at a repeated nextToken");
  if (!listed.ok()) rcc::fuzz::require_explained(listed.status());
  return 0;
}
