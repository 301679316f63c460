#include "aws/sigv4.h"

#include <gtest/gtest.h>

namespace rcc {
namespace {

std::chrono::system_clock::time_point at(std::int64_t epoch_s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(epoch_s));
}

const AwsCredentials kCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

std::string header(const HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST(SigV4, AmzDate) { EXPECT_EQ(amz_date(at(1440938160)), "20150830T123600Z"); }

TEST(SigV4, Sha256OfEmptyString) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4, HmacRfc4231Case2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SigV4, UriEncodeKeepsUnreservedOnly) {
  EXPECT_EQ(uri_encode("a b/c~d*é", false), "a%20b%2Fc~d%2A%C3%A9");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
}

// The signing key example of the AWS SigV4 documentation.
TEST(SigV4, DerivedSigningKeyMatchesDocumentation) {
  EXPECT_EQ(hex_encode(derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, AddsHostDateAndAuthorization) {
  HttpRequest request{"POST", "http://127.0.0.1:8000/", {{"X-Amz-Target", "DynamoDB_20120810.GetItem"}}, "{}"};
  SigningParams params{"us-east-1", "dynamodb", at(1440938160)};
  auto parts = sign_request(request, kCredentials, params);
  ASSERT_TRUE(parts.ok()) << parts.status().to_string();
  EXPECT_EQ(header(request, "Host"), "127.0.0.1:8000");
  EXPECT_EQ(header(request, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(header(request, "X-Amz-Security-Token"), "<absent>");
  EXPECT_EQ(header(request, "Authorization"), parts->authorization);
  EXPECT_TRUE(parts->authorization.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
      "SignedHeaders=host;x-amz-date;x-amz-target, Signature="))
      << parts->authorization;
  EXPECT_TRUE(parts->canonical_request.ends_with(sha256_hex("{}")));
}

TEST(SigV4, DefaultPortIsLeftOutOfHost) {
  HttpRequest request{"GET", "https://dynamodb.us-east-1.amazonaws.com:443/", {}, ""};
  ASSERT_TRUE(sign_request(request, kCredentials, {"us-east-1", "dynamodb", at(0)}).ok());
  EXPECT_EQ(header(request, "Host"), "dynamodb.us-east-1.amazonaws.com");
}

TEST(SigV4, SessionTokenIsSignedByDefault) {
  AwsCredentials credentials = kCredentials;
  credentials.session_token = "TOKEN";
  HttpRequest request{"GET", "http://example.amazonaws.com/", {}, ""};
  auto parts = sign_request(request, credentials, {"us-east-1", "service", at(0)});
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(header(request, "X-Amz-Security-Token"), "TOKEN");
  EXPECT_NE(parts->canonical_request.find("x-amz-security-token:TOKEN\n"), std::string::npos);
}

TEST(SigV4, SessionTokenCanBeAddedUnsigned) {
  AwsCredentials credentials = kCredentials;
  credentials.session_token = "TOKEN";
  HttpRequest request{"GET", "http://example.amazonaws.com/", {}, ""};
  SigningParams params{"us-east-1", "service", at(0)};
  params.omit_session_token_from_signature = true;
  auto parts = sign_request(request, credentials, params);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(header(request, "X-Amz-Security-Token"), "TOKEN");
  EXPECT_EQ(parts->canonical_request.find("x-amz-security-token"), std::string::npos);
}

TEST(SigV4, ContentSha256HeaderWhenAsked) {
  HttpRequest request{"POST", "http://example.amazonaws.com/", {}, "Action=DescribeInstances"};
  SigningParams params{"us-east-1", "ec2", at(0)};
  params.add_content_sha256 = true;
  ASSERT_TRUE(sign_request(request, kCredentials, params).ok());
  EXPECT_EQ(header(request, "x-amz-content-sha256"), sha256_hex("Action=DescribeInstances"));
}

TEST(SigV4, QueryIsSortedAndReencoded) {
  HttpRequest request{"GET", "http://example.amazonaws.com/?b=2&a=x%20y&a=1&c", {}, ""};
  auto parts = sign_request(request, kCredentials, {"us-east-1", "service", at(0)});
  ASSERT_TRUE(parts.ok());
  EXPECT_NE(parts->canonical_request.find("\na=1&a=x%20y&b=2&c=\n"), std::string::npos) << parts->canonical_request;
}

TEST(SigV4, PathIsEncodedOnceMore) {
  HttpRequest request{"GET", "http://example.amazonaws.com/a%20b/", {}, ""};
  auto parts = sign_request(request, kCredentials, {"us-east-1", "service", at(0)});
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->canonical_request.starts_with("GET\n/a%2520b/\n")) << parts->canonical_request;
}

TEST(SigV4, RejectsMissingKeysAndBadUrls) {
  HttpRequest request{"GET", "http://example.amazonaws.com/", {}, ""};
  EXPECT_EQ(sign_request(request, AwsCredentials{}, {"us-east-1", "s", at(0)}).status().code(),
            Code::kInvalidArgument);
  HttpRequest bad{"GET", "ftp://example/", {}, ""};
  EXPECT_EQ(sign_request(bad, kCredentials, {"us-east-1", "s", at(0)}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace rcc
