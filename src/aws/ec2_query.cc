#include "aws/ec2_query.h"

#include <array>
#include <optional>
#include <pugixml.hpp>
#include <utility>

#include "core/text.h"

namespace rcc::ec2_query {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

void append_param(std::string& body, std::string_view key, std::string_view value) {
  body += '&';
  body += form_encode(key);
  body += '=';
  body += form_encode(value);
}

std::string action_prefix() {
  std::string body = "Action=DescribeInstances&Version=";
  body += kApiVersion;
  return body;
}

// Element names compared without a namespace prefix: EC2 uses a default namespace, but a prefixed
// document is the same document.
std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c) == name) return c;
  }
  return {};
}

// The children named `name` of `node`.
template <typename F>
void for_each_child(const pugi::xml_node& node, std::string_view name, F&& f) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c) == name) f(c);
  }
}

std::string text_of(const pugi::xml_node& node) { return node ? std::string(node.child_value()) : std::string(); }

Result<pugi::xml_node> load(pugi::xml_document& doc, std::string_view xml) {
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!parsed) {
    return Status::ProtocolError("EC2 answer is not well-formed XML: " + std::string(parsed.description()) +
                                 " at offset " + std::to_string(parsed.offset));
  }
  pugi::xml_node root = doc.document_element();
  if (!root) return Status::ProtocolError("EC2 answer has no root element");
  return root;
}

Result<Ec2Instance> parse_instance(const pugi::xml_node& item) {
  Ec2Instance instance;
  instance.instance_id = text_of(child(item, "instanceId"));
  if (instance.instance_id.empty()) return Status::ProtocolError("EC2 instance item without instanceId");

  std::string state = text_of(child(child(item, "instanceState"), "name"));
  std::optional<InstanceState> parsed_state = parse_state(state);
  if (!parsed_state) {
    return Status::ProtocolError("EC2 instance " + instance.instance_id + " has unknown state '" + state + "'");
  }
  instance.state = *parsed_state;

  std::string launch = text_of(child(item, "launchTime"));
  std::optional<std::int64_t> launch_ms = parse_rfc3339_ms(launch);
  if (!launch_ms) {
    return Status::ProtocolError("EC2 instance " + instance.instance_id + " has launchTime '" + launch +
                                 "', not RFC 3339");
  }
  instance.launch_time_ms = *launch_ms;

  for_each_child(child(item, "tagSet"), "item", [&](const pugi::xml_node& tag) {
    instance.tags.insert_or_assign(text_of(child(tag, "key")), text_of(child(tag, "value")));
  });
  return instance;
}

struct CodeClass {
  std::string_view code;
  Code status;
};

// Codes from the EC2 API reference, "Error codes for the Amazon EC2 API" (common client and server codes,
// and the DescribeInstances ones).
constexpr std::array kCodes = {
    CodeClass{"InvalidInstanceID.NotFound", Code::kNotFound},
    CodeClass{"RequestLimitExceeded", Code::kThrottled},
    CodeClass{"Throttling", Code::kThrottled},
    CodeClass{"InternalError", Code::kUnavailable},
    CodeClass{"InternalFailure", Code::kUnavailable},
    CodeClass{"Unavailable", Code::kUnavailable},
    CodeClass{"ServiceUnavailable", Code::kUnavailable},
    CodeClass{"AuthFailure", Code::kPermissionDenied},
    CodeClass{"UnauthorizedOperation", Code::kPermissionDenied},
    CodeClass{"MissingAuthenticationToken", Code::kPermissionDenied},
    CodeClass{"InvalidClientTokenId", Code::kPermissionDenied},
    CodeClass{"SignatureDoesNotMatch", Code::kPermissionDenied},
    CodeClass{"IncompleteSignature", Code::kPermissionDenied},
    CodeClass{"RequestExpired", Code::kPermissionDenied},
    CodeClass{"OptInRequired", Code::kPermissionDenied},
    CodeClass{"Blocked", Code::kPermissionDenied},
    CodeClass{"PendingVerification", Code::kPermissionDenied},
    CodeClass{"InvalidInstanceID.Malformed", Code::kInvalidArgument},
    CodeClass{"InvalidInstanceID", Code::kInvalidArgument},
    CodeClass{"InvalidParameter", Code::kInvalidArgument},
    CodeClass{"InvalidParameterValue", Code::kInvalidArgument},
    CodeClass{"InvalidParameterCombination", Code::kInvalidArgument},
    CodeClass{"InvalidPaginationToken", Code::kInvalidArgument},
    CodeClass{"InvalidFilter", Code::kInvalidArgument},
    CodeClass{"InvalidAction", Code::kInvalidArgument},
    CodeClass{"MissingAction", Code::kInvalidArgument},
    CodeClass{"MissingParameter", Code::kInvalidArgument},
    CodeClass{"UnknownParameter", Code::kInvalidArgument},
    CodeClass{"MalformedQueryString", Code::kInvalidArgument},
    CodeClass{"InvalidQueryParameter", Code::kInvalidArgument},
    CodeClass{"InvalidCharacter", Code::kInvalidArgument},
    CodeClass{"ValidationError", Code::kInvalidArgument},
};

}  // namespace

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

std::string describe_instance_body(std::string_view instance_id) {
  std::string body = action_prefix();
  append_param(body, "InstanceId.1", instance_id);
  return body;
}

std::string describe_instances_body(const std::vector<Ec2Filter>& filters, int max_results,
                                    std::string_view next_token) {
  std::string body = action_prefix();
  for (std::size_t i = 0; i < filters.size(); ++i) {
    std::string prefix = "Filter." + std::to_string(i + 1) + ".";
    append_param(body, prefix + "Name", filters[i].name);
    for (std::size_t j = 0; j < filters[i].values.size(); ++j) {
      append_param(body, prefix + "Value." + std::to_string(j + 1), filters[i].values[j]);
    }
  }
  append_param(body, "MaxResults", std::to_string(max_results));
  if (!next_token.empty()) append_param(body, "NextToken", next_token);
  return body;
}

Result<DescribeInstancesPage> parse_describe_instances(std::string_view xml) {
  pugi::xml_document doc;
  Result<pugi::xml_node> root = load(doc, xml);
  if (!root.ok()) return root.status();
  if (local_name(*root) != "DescribeInstancesResponse") {
    return Status::ProtocolError("EC2 answer root is <" + std::string(root->name()) +
                                 ">, not <DescribeInstancesResponse>");
  }
  DescribeInstancesPage page;
  Status status;
  for_each_child(child(*root, "reservationSet"), "item", [&](const pugi::xml_node& reservation) {
    for_each_child(child(reservation, "instancesSet"), "item", [&](const pugi::xml_node& item) {
      if (!status.ok()) return;
      Result<Ec2Instance> instance = parse_instance(item);
      if (!instance.ok()) {
        status = instance.status();
        return;
      }
      page.instances.push_back(std::move(instance).value());
    });
  });
  if (!status.ok()) return status;
  page.next_token = text_of(child(*root, "nextToken"));
  return page;
}

Result<Ec2Error> parse_error(std::string_view xml) {
  pugi::xml_document doc;
  Result<pugi::xml_node> root = load(doc, xml);
  if (!root.ok()) return root.status();
  pugi::xml_node error = child(child(*root, "Errors"), "Error");
  Ec2Error parsed;
  parsed.code = text_of(child(error, "Code"));
  if (local_name(*root) != "Response" || parsed.code.empty()) {
    return Status::ProtocolError("EC2 answer is not an error document <Response><Errors><Error><Code>");
  }
  parsed.message = text_of(child(error, "Message"));
  parsed.request_id = text_of(child(*root, "RequestID"));
  return parsed;
}

Code error_code_for(std::string_view ec2_code, int http_status) {
  // Some SDKs and proxies report codes with a "Client." or "Server." prefix.
  for (std::string_view prefix : {"Client.", "Server."}) {
    if (ec2_code.starts_with(prefix)) ec2_code.remove_prefix(prefix.size());
  }
  for (const CodeClass& known : kCodes) {
    if (known.code == ec2_code) return known.status;
  }
  return http_status >= 500 ? Code::kUnavailable : Code::kInvalidArgument;
}

Status error_status(int http_status, std::string_view body) {
  Result<Ec2Error> error = parse_error(body);
  std::string http = "HTTP " + std::to_string(http_status);
  if (!error.ok()) {
    // No EC2 error document: the answer came from something in between (a proxy, a load balancer), so
    // only the HTTP status says whether trying again can help.
    std::string what = "EC2 answered " + http + " without error XML: " + utf8_excerpt(body, kExcerptBytes);
    if (http_status == 429) return Status::Throttled(std::move(what));
    if (http_status == 408) return Status::Timeout(std::move(what));
    if (http_status >= 500 && http_status <= 599) return Status::Unavailable(std::move(what));
    return Status::ProtocolError(std::move(what));
  }
  std::string message = "EC2 " + error->code + ": " + error->message + " (" + http;
  if (!error->request_id.empty()) message += ", request id " + error->request_id;
  message += ")";
  switch (error_code_for(error->code, http_status)) {
    case Code::kNotFound:
      return Status::NotFound(std::move(message));
    case Code::kThrottled:
      return Status::Throttled(std::move(message));
    case Code::kUnavailable:
      return Status::Unavailable(std::move(message));
    case Code::kPermissionDenied:
      return Status::PermissionDenied(std::move(message));
    default:
      return Status::InvalidArgument(std::move(message));
  }
}

}  // namespace rcc::ec2_query
