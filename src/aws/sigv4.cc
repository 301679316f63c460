#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <utility>
#include <vector>

#include "rcc/http_client.h"

namespace rcc {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text`; a '%' not followed by two hex digits is kept as is.
std::string uri_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims surrounding whitespace and collapses inner runs of spaces to one, as SigV4 asks of header values.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  std::vector<std::string_view> segments;
  std::size_t start = path.front() == '/' ? 1 : 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (normalize) {
    std::vector<std::string_view> kept;
    for (std::string_view s : segments) {
      if (s.empty() || s == ".") continue;
      if (s == "..") {
        if (!kept.empty()) kept.pop_back();
        continue;
      }
      kept.push_back(s);
    }
    const bool trailing_slash = path.back() == '/' && !kept.empty();
    std::string out;
    for (std::string_view s : kept) {
      out += '/';
      out += uri_encode(s, false);
    }
    if (out.empty() || trailing_slash) out += '/';
    return out;
  }
  std::string out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    out += '/';
    out += uri_encode(segments[i], false);
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      std::string_view key = pair.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      params.emplace_back(uri_encode(uri_decode(key), false), uri_encode(uri_decode(value), false));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

const std::string* find_header(const HttpHeaders& headers, std::string_view lower_name) {
  for (const auto& [name, value] : headers) {
    if (lowercase(name) == lower_name) return &value;
  }
  return nullptr;
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(time));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string derive_signing_key(std::string_view secret_access_key, std::string_view date, std::string_view region,
                               std::string_view service) {
  const std::string k_date = hmac_sha256("AWS4" + std::string(secret_access_key), date);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

Result<SignatureParts> sign_request(HttpRequest& request, const AwsCredentials& credentials,
                                    const SigningParams& params) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidArgument("sigv4: empty access key id or secret access key");
  }
  if (params.region.empty() || params.service.empty()) {
    return Status::InvalidArgument("sigv4: empty region or service");
  }
  auto url = parse_url(request.url);
  if (!url.ok()) return url.status().with_context("sigv4");

  if (find_header(request.headers, "host") == nullptr) {
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "literal" + std::string&&.
    const bool bracket = url->host.find(':') != std::string::npos;  // an IPv6 literal
    std::string host;
    if (bracket) host += '[';
    host += url->host;
    if (bracket) host += ']';
    if (!url->default_port) {
      host += ':';
      host += std::to_string(url->port);
    }
    request.headers.emplace_back("Host", std::move(host));
  }
  const std::string date_time = amz_date(params.time);
  const std::string date = date_time.substr(0, 8);
  request.headers.emplace_back("X-Amz-Date", date_time);
  const bool sign_token = !credentials.session_token.empty() && !params.omit_session_token_from_signature;
  if (sign_token) request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  const std::string payload_hash = sha256_hex(request.body);
  if (params.add_content_sha256) request.headers.emplace_back("x-amz-content-sha256", payload_hash);

  // name -> values in the order they appear.
  std::map<std::string, std::string> canonical_headers;
  for (const auto& [name, value] : request.headers) {
    std::string& joined = canonical_headers[lowercase(name)];
    if (!joined.empty()) joined += ',';
    joined += canonical_header_value(value);
  }
  std::string header_block;
  std::string signed_headers;
  for (const auto& [name, value] : canonical_headers) {
    header_block += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }

  const std::string_view target = url->target;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  SignatureParts parts;
  parts.canonical_request = request.method + "\n" + canonical_uri(path, params.normalize_path) + "\n" +
                            canonical_query(query) + "\n" + header_block + "\n" + signed_headers + "\n" +
                            payload_hash;
  const std::string scope = date + "/" + params.region + "/" + params.service + "/aws4_request";
  parts.string_to_sign = std::string(kAlgorithm) + "\n" + date_time + "\n" + scope + "\n" +
                         sha256_hex(parts.canonical_request);
  const std::string key = derive_signing_key(credentials.secret_access_key, date, params.region, params.service);
  parts.signature = hex_encode(hmac_sha256(key, parts.string_to_sign));
  parts.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" + scope +
                        ", SignedHeaders=" + signed_headers + ", Signature=" + parts.signature;
  request.headers.emplace_back("Authorization", parts.authorization);
  if (!credentials.session_token.empty() && !sign_token) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  return parts;
}

}  // namespace rcc
