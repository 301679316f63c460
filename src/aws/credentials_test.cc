#include "rcc/credentials.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "testing/fakes.h"
#include "rcc/aws_config.h"

namespace rcc {
namespace {

namespace fs = std::filesystem;
using testing::env_with;

// A temporary directory holding a credentials and a config file.
class ProfileFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rcc-cred-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::map<std::string, std::string> files_env() {
    return {{"AWS_SHARED_CREDENTIALS_FILE", (dir_ / "credentials").string()},
            {"AWS_CONFIG_FILE", (dir_ / "config").string()}};
  }

  fs::path dir_;
};

TEST(Credentials, FromEnvironment) {
  auto c = resolve_credentials(
      *env_with({{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "SECRET"}, {"AWS_SESSION_TOKEN", "TOK"}}));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(*c, (AwsCredentials{"AKID", "SECRET", "TOK"}));
}

TEST(Credentials, OnlyOneKeyInEnvironmentIsAnError) {
  auto c = resolve_credentials(*env_with({{"AWS_ACCESS_KEY_ID", "AKID"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermissionDenied);
  EXPECT_NE(c.status().message().find("together"), std::string::npos);
}

TEST_F(ProfileFiles, DefaultProfileFromCredentialsFile) {
  write("credentials", "[default]\naws_access_key_id = AKID1\naws_secret_access_key=SECRET1\n\n[other]\n"
                       "aws_access_key_id=AKID2\naws_secret_access_key=SECRET2\naws_session_token=T2\n");
  auto env = files_env();
  auto c = resolve_credentials(*env_with(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(*c, (AwsCredentials{"AKID1", "SECRET1", ""}));

  env["AWS_PROFILE"] = "other";
  c = resolve_credentials(*env_with(env));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (AwsCredentials{"AKID2", "SECRET2", "T2"}));

  // An explicit profile beats AWS_PROFILE.
  c = resolve_credentials(*env_with(env), "default");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKID1");
}

TEST_F(ProfileFiles, EnvironmentBeatsFiles) {
  write("credentials", "[default]\naws_access_key_id=FILE\naws_secret_access_key=FILE\n");
  auto env = files_env();
  env["AWS_ACCESS_KEY_ID"] = "ENV";
  env["AWS_SECRET_ACCESS_KEY"] = "ENVSECRET";
  auto c = resolve_credentials(*env_with(env));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "ENV");
}

TEST_F(ProfileFiles, StaticKeysInConfigProfileSection) {
  write("config", "# comment\n[profile dev]\nregion = eu-west-1\naws_access_key_id = AKIDC\n"
                  "aws_secret_access_key = SECRETC\ns3 =\n  max_concurrent_requests = 10\n");
  auto env = files_env();
  env["AWS_PROFILE"] = "dev";
  auto c = resolve_credentials(*env_with(env));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->access_key_id, "AKIDC");
  auto region = resolve_region(*env_with(env), "", "");
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(*region, "eu-west-1");
}

TEST_F(ProfileFiles, UnsupportedProfileKindsAreNamed) {
  write("config",
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n"
        "[profile sso]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
        "[profile proc]\ncredential_process = /bin/creds\n"
        "[profile web]\nweb_identity_token_file = /tmp/token\nrole_arn = arn:aws:iam::1:role/y\n");
  for (const auto& [profile, kind] : std::vector<std::pair<std::string, std::string>>{
           {"role", "role_arn"}, {"sso", "sso_"}, {"proc", "credential_process"}, {"web", ""}}) {
    auto c = resolve_credentials(*env_with(files_env()), profile);
    ASSERT_FALSE(c.ok()) << profile;
    EXPECT_EQ(c.status().code(), Code::kPermissionDenied);
    EXPECT_NE(c.status().message().find("does not support"), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find(kind), std::string::npos) << c.status().message();
  }
  auto web = resolve_credentials(*env_with(files_env()), "web");
  EXPECT_TRUE(web.status().message().find("role_arn") != std::string::npos ||
              web.status().message().find("web_identity_token_file") != std::string::npos);
}

TEST_F(ProfileFiles, MissingProfileAndMissingFiles) {
  auto c = resolve_credentials(*env_with(files_env()), "nope");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermissionDenied);
  EXPECT_NE(c.status().message().find("nope"), std::string::npos);
}

TEST_F(ProfileFiles, MalformedFileIsInvalidArgument) {
  write("credentials", "[default]\nthis line has no equals\n");
  auto p = load_profile(*env_with(files_env()), "default");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find("line 2"), std::string::npos) << p.status().message();
}

TEST_F(ProfileFiles, HomeDirectoryDefaults) {
  fs::create_directories(dir_ / ".aws");
  write(".aws/credentials", "[default]\naws_access_key_id=H\naws_secret_access_key=HS\n");
  auto c = resolve_credentials(*env_with({{"HOME", dir_.string()}}));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->access_key_id, "H");
}

TEST(Ini, SectionsAndComments) {
  auto ini = parse_ini("; c\n[a]\nK = v1\n# c\n[ b ]\nx=1=2\n");
  ASSERT_TRUE(ini.ok());
  EXPECT_EQ(ini->at("a").at("k"), "v1");
  EXPECT_EQ(ini->at("b").at("x"), "1=2");
  EXPECT_FALSE(parse_ini("k=v\n").ok());
  EXPECT_FALSE(parse_ini("[a\n").ok());
}

TEST(Region, Precedence) {
  EXPECT_EQ(*resolve_region(*env_with({{"AWS_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "eu-west-1"}}), "", ""),
            "us-west-2");
  EXPECT_EQ(*resolve_region(*env_with({{"AWS_DEFAULT_REGION", "eu-west-1"}}), "", ""), "eu-west-1");
  EXPECT_EQ(*resolve_region(*env_with({{"AWS_REGION", "us-west-2"}}), "", "ap-south-1"), "ap-south-1");
  EXPECT_EQ(resolve_region(*env_with({}), "", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(resolve_region(*env_with({{"AWS_REGION", "US East"}}), "", "").status().code(), Code::kInvalidArgument);
}

TEST(Endpoint, DefaultsAndPartitions) {
  EXPECT_EQ(default_endpoint(AwsService::kDynamoDb, "us-east-1"), "https://dynamodb.us-east-1.amazonaws.com");
  EXPECT_EQ(default_endpoint(AwsService::kEc2, "eu-central-1"), "https://ec2.eu-central-1.amazonaws.com");
  EXPECT_EQ(default_endpoint(AwsService::kDynamoDb, "cn-north-1"), "https://dynamodb.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(default_endpoint(AwsService::kEc2, "cn-northwest-1"), "https://ec2.cn-northwest-1.amazonaws.com.cn");
}

TEST(Endpoint, Precedence) {
  const auto variables = env_with({{"AWS_ENDPOINT_URL", "http://127.0.0.1:1/"},
                                   {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"}});
  Env& env = *variables;
  EXPECT_EQ(*resolve_endpoint(env, AwsService::kDynamoDb, "us-east-1", {}), "http://127.0.0.1:2");
  EXPECT_EQ(*resolve_endpoint(env, AwsService::kEc2, "us-east-1", {}), "http://127.0.0.1:1");
  AwsOverrides flags;
  flags.endpoint_url = "http://127.0.0.1:3";
  EXPECT_EQ(*resolve_endpoint(env, AwsService::kDynamoDb, "us-east-1", flags), "http://127.0.0.1:3");
  flags.ec2_endpoint_url = "http://127.0.0.1:4";
  EXPECT_EQ(*resolve_endpoint(env, AwsService::kEc2, "us-east-1", flags), "http://127.0.0.1:4");
  EXPECT_EQ(*resolve_endpoint(*env_with({}), AwsService::kEc2, "us-east-1", {}), "https://ec2.us-east-1.amazonaws.com");
  EXPECT_EQ(resolve_endpoint(*env_with({{"AWS_ENDPOINT_URL_EC2", "localhost:4566"}}), AwsService::kEc2, "us-east-1", {})
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(AwsConfig, ResolvesEverything) {
  auto config = resolve_aws_config(*env_with({{"AWS_REGION", "us-east-2"},
                                            {"AWS_ACCESS_KEY_ID", "fake"},
                                            {"AWS_SECRET_ACCESS_KEY", "fake"},
                                            {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"}}),
                                   {});
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->region, "us-east-2");
  EXPECT_EQ(config->profile, "default");
  EXPECT_EQ(config->dynamodb_endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(config->ec2_endpoint, "https://ec2.us-east-2.amazonaws.com");
  EXPECT_EQ(config->credentials.access_key_id, "fake");
}

}  // namespace
}  // namespace rcc
