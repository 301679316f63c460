#include "aws/ec2_query.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rcc::ec2_query {
namespace {

std::filesystem::path fixtures_dir() {
  const char* shared = std::getenv("RCC_SHARED_DIR");
  return std::filesystem::path(shared != nullptr ? shared : "../tests/data") / "fixtures" / "ec2";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string fixture(const std::string& name) { return read_file(fixtures_dir() / name); }

TEST(Ec2QueryFormEncode, KeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(form_encode("abcXYZ019-_.~"), "abcXYZ019-_.~");
  EXPECT_EQ(form_encode("tag:ghr:environment"), "tag%3Aghr%3Aenvironment");
  EXPECT_EQ(form_encode("a b+c/d=e&f"), "a%20b%2Bc%2Fd%3De%26f");
  EXPECT_EQ(form_encode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(form_encode(""), "");
}

TEST(Ec2QueryBody, ByInstanceId) {
  EXPECT_EQ(describe_instance_body("i-0123456789abcdef0"),
            "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0");
}

TEST(Ec2QueryBody, FiltersNumberedFromOneWithMaxResults) {
  std::vector<Ec2Filter> filters = {{"instance-state-name", {"pending", "running"}},
                                    {"tag:ghr:environment", {"prod env"}}};
  EXPECT_EQ(describe_instances_body(filters, 1000, ""),
            "Action=DescribeInstances&Version=2016-11-15"
            "&Filter.1.Name=instance-state-name&Filter.1.Value.1=pending&Filter.1.Value.2=running"
            "&Filter.2.Name=tag%3Aghr%3Aenvironment&Filter.2.Value.1=prod%20env&MaxResults=1000");
}

TEST(Ec2QueryBody, NextTokenIsEncoded) {
  EXPECT_EQ(describe_instances_body({}, 5, "eyJ2IjoiMiJ9+/="),
            "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=eyJ2IjoiMiJ9%2B%2F%3D");
}

// Every sample in tests/data/fixtures/ec2 is understood by exactly one of the two parsers.
TEST(Ec2QueryFixtures, EveryFileParsesAsAPageOrAnError) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::string xml = read_file(entry.path());
    Result<DescribeInstancesPage> page = parse_describe_instances(xml);
    Result<Ec2Error> error = parse_error(xml);
    EXPECT_NE(page.ok(), error.ok()) << entry.path();
    if (page.ok()) {
      EXPECT_FALSE(page->instances.empty()) << entry.path();
      for (const Ec2Instance& instance : page->instances) {
        EXPECT_TRUE(is_instance_id(instance.instance_id)) << entry.path() << " " << instance.instance_id;
        EXPECT_GT(instance.launch_time_ms, 0) << entry.path();
      }
    } else {
      EXPECT_EQ(page.status().code(), Code::kProtocolError) << entry.path();
      EXPECT_FALSE(error->message.empty()) << entry.path();
      EXPECT_FALSE(error->request_id.empty()) << entry.path();
    }
  }
  EXPECT_GE(files, 4) << "fixtures missing in " << fixtures_dir();
}

TEST(Ec2QueryFixtures, PageOneCarriesInstancesTagsAndNextToken) {
  Result<DescribeInstancesPage> page = parse_describe_instances(fixture("describe-instances-page1.xml"));
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->instances.size(), 2u);
  EXPECT_EQ(page->next_token, "eyJ2IjoiMiIsImMiOiJleGFtcGxlIn0=");

  const Ec2Instance& first = page->instances[0];
  EXPECT_EQ(first.instance_id, "i-1234567890abcdef0");
  EXPECT_EQ(first.state, InstanceState::kRunning);
  EXPECT_EQ(first.launch_time_ms, 1636666194000);  // 2021-11-11T21:29:54Z
  Tags expected = {{"ghr:Application", "github-action-runner"},
                   {"ghr:environment", "production"},
                   {"ghr:Type", "Org"},
                   {"ghr:Owner", "acme"},
                   {"ghr:created_by", "scale-up-lambda"}};
  EXPECT_EQ(first.tags, expected);

  const Ec2Instance& second = page->instances[1];
  EXPECT_EQ(second.instance_id, "i-0598c7d356eba48d7");
  EXPECT_EQ(second.state, InstanceState::kPending);
  EXPECT_EQ(second.tags.at("ghr:Owner"), "acme/widgets");
}

TEST(Ec2QueryFixtures, PageTwoIsTheLast) {
  Result<DescribeInstancesPage> page = parse_describe_instances(fixture("describe-instances-page2.xml"));
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->instances.size(), 1u);
  EXPECT_EQ(page->next_token, "");
  EXPECT_EQ(page->instances[0].instance_id, "i-0b22a22eec53b9321");
  EXPECT_EQ(page->instances[0].tags, (Tags{{"Name", "bastion"}}));
}

TEST(Ec2QueryFixtures, InvalidInstanceIdIsNotFound) {
  std::string xml = fixture("error-invalid-instance-id.xml");
  Result<Ec2Error> error = parse_error(xml);
  ASSERT_TRUE(error.ok()) << error.status().to_string();
  EXPECT_EQ(error->code, "InvalidInstanceID.NotFound");
  EXPECT_EQ(error->message, "The instance ID 'i-0123456789abcdef0' does not exist");
  EXPECT_EQ(error->request_id, "7a62c49f-example");

  Status status = error_status(400, xml);
  EXPECT_EQ(status.code(), Code::kNotFound);
  EXPECT_NE(status.message().find("InvalidInstanceID.NotFound"), std::string::npos);
  EXPECT_NE(status.message().find("7a62c49f-example"), std::string::npos);
}

TEST(Ec2QueryFixtures, RequestLimitExceededIsThrottledAndRetryable) {
  Status status = error_status(503, fixture("error-request-limit-exceeded.xml"));
  EXPECT_EQ(status.code(), Code::kThrottled);
  EXPECT_TRUE(status.retryable());
}

TEST(Ec2QueryErrors, CodesMapToStatusCodes) {
  EXPECT_EQ(error_code_for("InvalidInstanceID.NotFound", 400), Code::kNotFound);
  EXPECT_EQ(error_code_for("InvalidInstanceID.Malformed", 400), Code::kInvalidArgument);
  EXPECT_EQ(error_code_for("RequestLimitExceeded", 503), Code::kThrottled);
  EXPECT_EQ(error_code_for("InternalError", 500), Code::kUnavailable);
  EXPECT_EQ(error_code_for("Unavailable", 503), Code::kUnavailable);
  EXPECT_EQ(error_code_for("AuthFailure", 401), Code::kPermissionDenied);
  EXPECT_EQ(error_code_for("UnauthorizedOperation", 403), Code::kPermissionDenied);
  EXPECT_EQ(error_code_for("Client.UnauthorizedOperation", 403), Code::kPermissionDenied);
  EXPECT_EQ(error_code_for("InvalidParameterValue", 400), Code::kInvalidArgument);
  EXPECT_EQ(error_code_for("SomethingNew", 400), Code::kInvalidArgument);
  EXPECT_EQ(error_code_for("SomethingNew", 502), Code::kUnavailable);
}

TEST(Ec2QueryErrors, OnlyThrottlingAndServerErrorsAreRetryable) {
  auto body = [](std::string_view code) {
    return "<Response><Errors><Error><Code>" + std::string(code) +
           "</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>";
  };
  EXPECT_TRUE(error_status(503, body("RequestLimitExceeded")).retryable());
  EXPECT_TRUE(error_status(500, body("InternalError")).retryable());
  EXPECT_TRUE(error_status(503, body("Unavailable")).retryable());
  EXPECT_FALSE(error_status(400, body("InvalidInstanceID.NotFound")).retryable());
  EXPECT_FALSE(error_status(400, body("InvalidInstanceID.Malformed")).retryable());
  EXPECT_FALSE(error_status(401, body("AuthFailure")).retryable());
  EXPECT_FALSE(error_status(403, body("UnauthorizedOperation")).retryable());
}

TEST(Ec2QueryErrors, BodyThatIsNotErrorXml) {
  EXPECT_EQ(error_status(502, "<html>Bad Gateway</html>").code(), Code::kUnavailable);
  EXPECT_EQ(error_status(504, "").code(), Code::kUnavailable);
  EXPECT_EQ(error_status(400, "not xml").code(), Code::kProtocolError);
  EXPECT_EQ(error_status(403, "<Response><Errors/></Response>").code(), Code::kProtocolError);
}

// Regression: a 429 or 408 from a proxy (no EC2 error XML) was a ProtocolError, so it was never retried.
TEST(Ec2QueryErrors, BodyThatIsNotErrorXmlIsClassifiedByHttpStatus) {
  const Status throttled = error_status(429, "Too Many Requests");
  EXPECT_EQ(throttled.code(), Code::kThrottled);
  EXPECT_TRUE(throttled.retryable());
  EXPECT_NE(throttled.message().find("HTTP 429"), std::string::npos) << throttled.to_string();
  const Status timeout = error_status(408, "<html>Request Timeout</html>");
  EXPECT_EQ(timeout.code(), Code::kTimeout);
  EXPECT_TRUE(timeout.retryable());
  EXPECT_EQ(error_status(500, "").code(), Code::kUnavailable);
  EXPECT_EQ(error_status(599, "gateway").code(), Code::kUnavailable);
  EXPECT_FALSE(error_status(404, "<html>Not Found</html>").retryable());
  EXPECT_EQ(error_status(404, "<html>Not Found</html>").code(), Code::kProtocolError);
  EXPECT_EQ(error_status(413, "too large").code(), Code::kProtocolError);
}

TEST(Ec2QueryMalformed, BrokenXmlIsAProtocolError) {
  for (std::string_view xml : {"", "<DescribeInstancesResponse>", "<<>>", "not xml at all",
                               "<DescribeInstancesResponse><reservationSet></DescribeInstancesResponse>"}) {
    Result<DescribeInstancesPage> page = parse_describe_instances(xml);
    ASSERT_FALSE(page.ok()) << xml;
    EXPECT_EQ(page.status().code(), Code::kProtocolError) << xml;
    EXPECT_FALSE(parse_error(xml).ok()) << xml;
  }
}

TEST(Ec2QueryMalformed, TruncatedFixtureIsAProtocolError) {
  std::string xml = fixture("describe-instances-page1.xml");
  ASSERT_GT(xml.size(), 100u);
  Result<DescribeInstancesPage> page = parse_describe_instances(xml.substr(0, xml.size() / 2));
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), Code::kProtocolError);
}

TEST(Ec2QueryMalformed, WrongRootIsRejected) {
  Result<DescribeInstancesPage> page = parse_describe_instances("<DescribeVolumesResponse/>");
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), Code::kProtocolError);
}

std::string one_instance(std::string_view id, std::string_view state, std::string_view launch) {
  std::string item = "<item>";
  if (!id.empty()) item += "<instanceId>" + std::string(id) + "</instanceId>";
  item += "<instanceState><code>16</code><name>" + std::string(state) + "</name></instanceState>";
  item += "<launchTime>" + std::string(launch) + "</launchTime></item>";
  return "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><reservationSet><item>"
         "<instancesSet>" + item + "</instancesSet></item></reservationSet></DescribeInstancesResponse>";
}

TEST(Ec2QueryMalformed, InstanceFieldsAreValidated) {
  EXPECT_TRUE(parse_describe_instances(one_instance("i-12345678", "stopped", "2024-01-01T00:00:00.000Z")).ok());
  EXPECT_EQ(parse_describe_instances(one_instance("", "running", "2024-01-01T00:00:00Z")).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(parse_describe_instances(one_instance("i-12345678", "exploded", "2024-01-01T00:00:00Z")).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(parse_describe_instances(one_instance("i-12345678", "running", "yesterday")).status().code(),
            Code::kProtocolError);
}

TEST(Ec2QueryParse, EmptyAnswerAndEscapedTagValues) {
  Result<DescribeInstancesPage> empty =
      parse_describe_instances("<DescribeInstancesResponse><requestId>x</requestId><reservationSet/>"
                               "</DescribeInstancesResponse>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->instances.empty());
  EXPECT_EQ(empty->next_token, "");

  std::string xml = one_instance("i-12345678", "running", "2024-01-01T00:00:00Z");
  xml.replace(xml.find("</item></instancesSet>"), 0,
              "<tagSet><item><key>a&amp;b</key><value>&lt;x&gt; &#233;</value></item>"
              "<item><key>empty</key><value/></item></tagSet>");
  Result<DescribeInstancesPage> page = parse_describe_instances(xml);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->instances.size(), 1u);
  EXPECT_EQ(page->instances[0].tags, (Tags{{"a&b", "<x> \xc3\xa9"}, {"empty", ""}}));
}

}  // namespace
}  // namespace rcc::ec2_query
