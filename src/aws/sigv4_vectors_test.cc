// Runs every case folder of the aws-c-auth SigV4 test suite (header mode) found under $RCC_SIGV4_VECTORS,
// default $RCC_SHARED_DIR/sigv4-vectors/v4 (tests/data in the repository).
#include <chrono>
#include <ctime>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "aws/sigv4.h"

namespace rcc {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// $RCC_SIGV4_VECTORS, else $RCC_SHARED_DIR/sigv4-vectors/v4 (rcc_test sets RCC_SHARED_DIR), else
// tests/data/sigv4-vectors/v4 in the source tree ($RCC_SOURCE_DIR), else ../tests/data/sigv4-vectors/v4 from
// the working directory (a build directory inside the source tree).
fs::path vectors_dir() {
  if (const char* dir = std::getenv("RCC_SIGV4_VECTORS"); dir != nullptr && *dir != '\0') return dir;
  if (const char* shared = std::getenv("RCC_SHARED_DIR"); shared != nullptr && *shared != '\0') {
    return fs::path(shared) / "sigv4-vectors" / "v4";
  }
  if (const char* source = std::getenv("RCC_SOURCE_DIR"); source != nullptr && *source != '\0') {
    return fs::path(source) / "tests" / "data" / "sigv4-vectors" / "v4";
  }
  return "../tests/data/sigv4-vectors/v4";
}

// request.txt: "METHOD target HTTP/1.1", "Name:value" lines (a line starting with whitespace continues the
// previous value), a blank line, then the body.
bool parse_request_txt(const std::string& text, HttpRequest& out, std::string& error) {
  std::size_t pos = text.find('\n');
  std::string line = text.substr(0, pos);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 <= sp1) {
    error = "bad request line: " + line;
    return false;
  }
  out.method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string host;
  while (pos != std::string::npos) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    line = text.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    if (line.empty()) {
      if (pos != std::string::npos) out.body = text.substr(pos + 1);
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !out.headers.empty()) {
      out.headers.back().second += line;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) {
      error = "bad header line: " + line;
      return false;
    }
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "host") host = value;
    out.headers.emplace_back(std::move(name), std::move(value));
  }
  if (host.empty()) {
    error = "no Host header";
    return false;
  }
  out.url = "http://" + host + target;
  return true;
}

// "YYYY-MM-DDTHH:MM:SSZ" as a time point.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

TEST(SigV4Vectors, EveryCaseMatches) {
  const fs::path dir = vectors_dir();
  ASSERT_TRUE(fs::is_directory(dir)) << "no vectors directory " << dir << " (set RCC_SIGV4_VECTORS)";
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && fs::exists(entry.path() / "request.txt")) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty()) << "no case folder under " << dir;

  int checked = 0;
  for (const fs::path& folder : cases) {
    SCOPED_TRACE(folder.filename().string());
    const auto context = nlohmann::json::parse(read_file(folder / "context.json"), nullptr, false);
    ASSERT_FALSE(context.is_discarded()) << "bad context.json";
    HttpRequest request;
    std::string error;
    ASSERT_TRUE(parse_request_txt(read_file(folder / "request.txt"), request, error)) << error;

    AwsCredentials credentials;
    credentials.access_key_id = context["credentials"]["access_key_id"].get<std::string>();
    credentials.secret_access_key = context["credentials"]["secret_access_key"].get<std::string>();
    credentials.session_token = context["credentials"].value("token", "");
    SigningParams params;
    params.region = context["region"].get<std::string>();
    params.service = context["service"].get<std::string>();
    auto time = parse_timestamp(context["timestamp"].get<std::string>());
    ASSERT_TRUE(time.has_value()) << "bad timestamp";
    params.time = *time;
    params.normalize_path = context.value("normalize", true);
    params.add_content_sha256 = context.value("sign_body", false);
    params.omit_session_token_from_signature = context.value("omit_session_token", false);

    auto parts = sign_request(request, credentials, params);
    ASSERT_TRUE(parts.ok()) << parts.status().to_string();
    EXPECT_EQ(parts->canonical_request, read_file(folder / "header-canonical-request.txt"));
    EXPECT_EQ(parts->string_to_sign, read_file(folder / "header-string-to-sign.txt"));
    EXPECT_EQ(parts->signature, read_file(folder / "header-signature.txt"));
    ++checked;
  }
  std::cout << "checked " << checked << " SigV4 cases from " << dir << "\n";
}

}  // namespace
}  // namespace rcc
