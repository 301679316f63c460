// AWS Signature Version 4, header mode, for any service.
//
// Pure functions over an HttpRequest: no clock and no I/O, so the signing test vectors and the unit tests
// drive them directly. Callers pass the time; AwsClient (rcc/aws_request.h) passes the system clock.
// Thread-safe: no shared state.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "rcc/credentials.h"
#include "rcc/http.h"
#include "rcc/status.h"

namespace rcc {

struct SigningParams {
  std::string region;   // e.g. "us-east-1"
  std::string service;  // the signing name, e.g. "dynamodb", "ec2"
  std::chrono::system_clock::time_point time;
  // Normalize the path (remove "." and ".." segments, collapse repeated '/') before encoding it.
  bool normalize_path = true;
  // Add a signed x-amz-content-sha256 header carrying the payload hash.
  bool add_content_sha256 = false;
  // Add X-Amz-Security-Token after signing instead of signing it (some services require that); by default
  // the token is signed.
  bool omit_session_token_from_signature = false;
};

// The intermediate products of a signature, for tests and debugging.
struct SignatureParts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the Authorization header value
};

// Signs `request` in place: adds Host (from the URL, when absent), X-Amz-Date, X-Amz-Security-Token (when
// the credentials carry a token), x-amz-content-sha256 (when asked) and Authorization. Every header present
// before the call is signed; headers added later (by the transport) are not. The path of the URL is taken
// as written and URI-encoded once more (double encoding, as every service but S3 expects); the query
// string is decoded and re-encoded canonically.
// Returns the signature parts, or InvalidArgument when the URL cannot be parsed or a credential is empty.
Result<SignatureParts> sign_request(HttpRequest& request, const AwsCredentials& credentials,
                                    const SigningParams& params);

// "YYYYMMDDTHHMMSSZ" for `time` (UTC, whole seconds).
std::string amz_date(std::chrono::system_clock::time_point time);

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Raw (32-byte) HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Lowercase hex of raw bytes.
std::string hex_encode(std::string_view bytes);

// RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - . _ ~), uppercase hex;
// '/' is kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

// The raw signing key for `date` ("YYYYMMDD"), region and service.
std::string derive_signing_key(std::string_view secret_access_key, std::string_view date,
                               std::string_view region, std::string_view service);

}  // namespace rcc
