// Ec2QueryClient, and the core Ec2TagSource over it, against the in-repo EC2 test server on 127.0.0.1.
#include "rcc/ec2_client.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "aws/ec2_query.h"
#include "testing/ec2_server.h"
#include "testing/fakes.h"
#include "rcc/http_client.h"
#include "core/tag_source.h"

namespace rcc {
namespace {

using testing::instance_id;

Ec2Instance runner(int n, InstanceState state = InstanceState::kRunning, std::string env = "prod") {
  return Ec2Instance{instance_id(n),
                     state,
                     {{"ghr:Application", "github-action-runner"},
                      {"ghr:environment", std::move(env)},
                      {"ghr:Type", "Org"},
                      {"ghr:Owner", "acme"}},
                     1700000000000 + 1000 * static_cast<std::int64_t>(n)};
}

// Small delays keep the tests fast; jitter pinned to its top so every backoff is predictable.
RetryPolicy fast_policy() {
  RetryPolicy policy;
  policy.max_attempts = 4;
  policy.base_delay = std::chrono::milliseconds(1);
  policy.max_delay = std::chrono::milliseconds(10);
  policy.total_budget = std::chrono::milliseconds(20000);
  return policy;
}

// Virtual time with the jitter pinned near its top, so every backoff is predictable.
class PinnedJitterEnv : public VirtualEnv {
 public:
  double uniform() override { return 0.99; }
};

class Ec2QueryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ec2ServerOptions options;
    options.env = &env_;
    Result<std::unique_ptr<Ec2TestServer>> started = Ec2TestServer::start(options);
    ASSERT_TRUE(started.ok()) << started.status().to_string();
    server_ = std::move(started).value();
  }

  // A client whose retries sleep on the server's clock: the bucket refills exactly as far as the client
  // backs off, whatever the machine's speed.
  Ec2QueryClient make_client(const Ec2TestServer& server, RetryPolicy policy = fast_policy()) {
    AwsClientOptions options;
    options.retry = policy;
    options.env = &env_;
    AwsClient aws(std::make_shared<BeastHttpClient>(), server.endpoint(), "ec2", "us-east-1",
                  AwsCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, options);
    return Ec2QueryClient(std::move(aws));
  }

  PinnedJitterEnv env_;
  std::unique_ptr<Ec2TestServer> server_;
};

TEST_F(Ec2QueryClientTest, DescribesOneInstanceWithItsTags) {
  server_->launch(runner(7, InstanceState::kPending));
  Ec2QueryClient client = make_client(*server_);
  Result<Ec2Instance> instance = client.describe_instance(instance_id(7));
  ASSERT_TRUE(instance.ok()) << instance.status().to_string();
  EXPECT_EQ(*instance, runner(7, InstanceState::kPending));
  EXPECT_EQ(client.requests_sent(), 1);

  std::vector<Ec2ServerRequest> log = server_->request_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].param("Action"), "DescribeInstances");
  EXPECT_EQ(log[0].param("Version"), "2016-11-15");
  EXPECT_EQ(log[0].param("InstanceId.1"), instance_id(7));
}

TEST_F(Ec2QueryClientTest, UnknownInstanceIsNotFoundWithoutRetry) {
  Ec2QueryClient client = make_client(*server_);
  Result<Ec2Instance> instance = client.describe_instance("i-0123456789abcdef0");
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.status().code(), Code::kNotFound);
  EXPECT_NE(instance.status().message().find("InvalidInstanceID.NotFound"), std::string::npos);
  EXPECT_EQ(client.requests_sent(), 1);
}

TEST_F(Ec2QueryClientTest, MalformedIdIsInvalidArgumentWithoutRetry) {
  Ec2QueryClient client = make_client(*server_);
  Result<Ec2Instance> instance = client.describe_instance("i-nothex!");
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(client.requests_sent(), 1);
}

TEST_F(Ec2QueryClientTest, FollowsNextTokenAcrossThreePages) {
  std::vector<Ec2Instance> inventory;
  for (int n = 0; n < 2500; ++n) inventory.push_back(runner(n));
  server_->launch_all(inventory);
  Ec2QueryClient client = make_client(*server_);
  Result<std::vector<Ec2Instance>> instances = client.describe_instances({});
  ASSERT_TRUE(instances.ok()) << instances.status().to_string();
  EXPECT_EQ(*instances, inventory);
  EXPECT_EQ(client.requests_sent(), 3);

  std::vector<Ec2ServerRequest> log = server_->request_log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].param("MaxResults"), "1000");
  EXPECT_EQ(log[0].param("NextToken"), "");
  EXPECT_EQ(log[0].instances_returned, 1000);
  EXPECT_NE(log[1].param("NextToken"), "");
  EXPECT_EQ(log[2].instances_returned, 500);
}

TEST_F(Ec2QueryClientTest, SmallPagesWhenAsked) {
  for (int n = 0; n < 12; ++n) server_->launch(runner(n));
  AwsClientOptions options;
  options.retry = fast_policy();
  Ec2QueryClient client(AwsClient(std::make_shared<BeastHttpClient>(), server_->endpoint(), "ec2", "us-east-1",
                                  AwsCredentials{"AKID", "secret", "token"}, options),
                        Ec2QueryClient::Options{.max_results = 1});  // clamped to EC2's minimum, 5
  Result<std::vector<Ec2Instance>> instances = client.describe_instances({});
  ASSERT_TRUE(instances.ok()) << instances.status().to_string();
  EXPECT_EQ(instances->size(), 12u);
  EXPECT_EQ(client.requests_sent(), 3);
  EXPECT_EQ(server_->request_log()[0].param("MaxResults"), "5");
}

TEST_F(Ec2QueryClientTest, ActiveRunnerFiltersSelectOnServer) {
  server_->launch(runner(1, InstanceState::kRunning, "prod"));
  server_->launch(runner(2, InstanceState::kPending, "prod"));
  server_->launch(runner(3, InstanceState::kStopped, "prod"));
  server_->launch(runner(4, InstanceState::kTerminated, "prod"));
  server_->launch(runner(5, InstanceState::kRunning, "staging"));
  server_->launch(Ec2Instance{instance_id(6), InstanceState::kRunning, {{"Name", "bastion"}}, 0});
  Ec2QueryClient client = make_client(*server_);
  Result<std::vector<Ec2Instance>> instances = client.describe_instances(active_runner_filters("prod"));
  ASSERT_TRUE(instances.ok()) << instances.status().to_string();
  ASSERT_EQ(instances->size(), 2u);
  EXPECT_EQ((*instances)[0].instance_id, instance_id(1));
  EXPECT_EQ((*instances)[1].instance_id, instance_id(2));

  Ec2ServerRequest request = server_->request_log().back();
  EXPECT_EQ(request.param("Filter.1.Name"), "instance-state-name");
  EXPECT_EQ(request.param("Filter.2.Name"), "tag:ghr:environment");
  EXPECT_EQ(request.param("Filter.2.Value.1"), "prod");
}

TEST_F(Ec2QueryClientTest, NoMatchIsAnEmptyList) {
  Ec2QueryClient client = make_client(*server_);
  Result<std::vector<Ec2Instance>> instances = client.describe_instances(active_runner_filters("prod"));
  ASSERT_TRUE(instances.ok()) << instances.status().to_string();
  EXPECT_TRUE(instances->empty());
}

TEST_F(Ec2QueryClientTest, ThrottledUntilTheBucketRefills) {
  server_->launch(runner(1));
  // One token, then one every 20 ms, on the test's virtual clock: neither the server's nor the client's
  // real speed changes what happens.
  server_->set_bucket(1, 50.0);
  RetryPolicy policy = fast_policy();
  policy.max_attempts = 8;
  policy.base_delay = std::chrono::milliseconds(5);
  policy.max_delay = std::chrono::milliseconds(40);
  Ec2QueryClient client = make_client(*server_, policy);
  ASSERT_TRUE(client.describe_instance(instance_id(1)).ok());
  Result<Ec2Instance> instance = client.describe_instance(instance_id(1));
  ASSERT_TRUE(instance.ok()) << instance.status().to_string();
  // Backoffs of 4, 9 and 19 virtual ms: the bucket holds 0.2, 0.65, then 1.6 tokens.
  EXPECT_EQ(server_->stats().throttled, 3);
  EXPECT_EQ(env_.monotonic_ms(), 32);
  EXPECT_EQ(server_->stats().succeeded, 2);
  EXPECT_EQ(client.requests_sent(), server_->requests());
  EXPECT_EQ(client.stats().retries, server_->stats().throttled);
}

TEST_F(Ec2QueryClientTest, ServerErrorsThenSuccess) {
  for (int n = 0; n < 1500; ++n) server_->launch(runner(n));
  Ec2QueryClient client = make_client(*server_);
  server_->fail_next(2, 500, "InternalError");
  Result<std::vector<Ec2Instance>> instances = client.describe_instances({});
  ASSERT_TRUE(instances.ok()) << instances.status().to_string();
  EXPECT_EQ(instances->size(), 1500u);
  EXPECT_EQ(client.requests_sent(), 4);  // two failures, then two pages

  server_->fail_next(1, 503, "Unavailable");
  EXPECT_TRUE(client.describe_instance(instance_id(3)).ok());
  EXPECT_EQ(client.requests_sent(), 6);
}

TEST_F(Ec2QueryClientTest, PersistentServerErrorSurfacesAfterTheBudget) {
  server_->launch(runner(1));
  server_->fail_next(100, 500, "InternalError");
  Ec2QueryClient client = make_client(*server_);
  Result<Ec2Instance> instance = client.describe_instance(instance_id(1));
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.status().code(), Code::kUnavailable);
  EXPECT_NE(instance.status().message().find("InternalError"), std::string::npos);
  EXPECT_EQ(client.requests_sent(), fast_policy().max_attempts);
  EXPECT_EQ(server_->requests(), fast_policy().max_attempts);

  Result<std::vector<Ec2Instance>> instances = client.describe_instances({});
  ASSERT_FALSE(instances.ok());
  EXPECT_EQ(instances.status().code(), Code::kUnavailable);
  EXPECT_NE(instances.status().message().find("page 1"), std::string::npos);
}

TEST_F(Ec2QueryClientTest, PersistentThrottlingSurfacesAsThrottled) {
  server_->set_bucket(1, 0.0);
  Ec2QueryClient client = make_client(*server_);
  ASSERT_TRUE(client.describe_instances({}).ok());
  Result<std::vector<Ec2Instance>> instances = client.describe_instances({});
  ASSERT_FALSE(instances.ok());
  EXPECT_EQ(instances.status().code(), Code::kThrottled);
  EXPECT_EQ(client.requests_sent(), 1 + fast_policy().max_attempts);
}

TEST_F(Ec2QueryClientTest, PermissionErrorsAreNotRetried) {
  server_->fail_next(5, 403, "UnauthorizedOperation");
  Ec2QueryClient client = make_client(*server_);
  Result<std::vector<Ec2Instance>> instances = client.describe_instances({});
  ASSERT_FALSE(instances.ok());
  EXPECT_EQ(instances.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(client.requests_sent(), 1);
}

TEST_F(Ec2QueryClientTest, UnsignedRequestIsRejected) {
  BeastHttpClient http;
  HttpRequest request;
  request.method = "POST";
  request.url = server_->endpoint() + "/";
  request.headers = {{"Content-Type", std::string(ec2_query::kContentType)}};
  request.body = ec2_query::describe_instances_body({}, 1000, "");
  Result<HttpResponse> response = http.send(request, HttpTimeouts{});
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(ec2_query::error_status(response->status, response->body).code(), Code::kPermissionDenied);
  EXPECT_EQ(server_->stats().succeeded, 0);
}

TEST_F(Ec2QueryClientTest, UnreachableEndpointIsUnavailable) {
  std::string endpoint = server_->endpoint();
  server_->stop();
  AwsClientOptions options;
  options.retry = fast_policy();
  options.retry.max_attempts = 2;
  Ec2QueryClient client(AwsClient(std::make_shared<BeastHttpClient>(), endpoint, "ec2", "us-east-1",
                                  AwsCredentials{"AKID", "secret", ""}, options));
  Result<Ec2Instance> instance = client.describe_instance(instance_id(1));
  ASSERT_FALSE(instance.ok());
  EXPECT_TRUE(instance.status().retryable()) << instance.status().to_string();
  EXPECT_EQ(client.requests_sent(), 2);
}

// The core's Ec2TagSource over the real client and server.
class Ec2TagSourceOverQueryClient : public Ec2QueryClientTest {
 protected:
  Ec2TagSource tag_source(Ec2QueryClient& client) {
    return Ec2TagSource(client, options_, &tag_env_);
  }
  Ec2TagSource::Options options_{.not_found_retries = 3, .not_found_backoff_ms = 200};
  std::vector<std::int64_t> sleeps_;  // the tag source's own waits (the client's retries are not in it)
  ClockEnv tag_env_{[] { return std::int64_t{0}; }, [this](std::int64_t ms) { sleeps_.push_back(ms); }};
};

TEST_F(Ec2TagSourceOverQueryClient, ThrottlingThenSuccess) {
  server_->launch(runner(1));
  server_->throttle_next(2);
  Ec2QueryClient client = make_client(*server_);
  Ec2TagSource source = tag_source(client);
  Result<std::optional<Tags>> tags = source.lookup(instance_id(1), true);
  ASSERT_TRUE(tags.ok()) << tags.status().to_string();
  ASSERT_TRUE(tags->has_value());
  EXPECT_EQ(**tags, runner(1).tags);
  EXPECT_EQ(client.requests_sent(), 3);
  EXPECT_EQ(server_->stats().throttled, 2);
}

TEST_F(Ec2TagSourceOverQueryClient, NotFoundIsAnAnswerForAGoneInstance) {
  Ec2QueryClient client = make_client(*server_);
  Ec2TagSource source = tag_source(client);
  Result<std::optional<Tags>> tags = source.lookup("i-0123456789abcdef0", /*expect_exists=*/false);
  ASSERT_TRUE(tags.ok()) << tags.status().to_string();
  EXPECT_FALSE(tags->has_value());
  EXPECT_EQ(client.requests_sent(), 1);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(Ec2TagSourceOverQueryClient, NotFoundRetriedThenFoundForANewInstance) {
  server_->launch(runner(1));
  server_->not_found_next(instance_id(1), 2);
  Ec2QueryClient client = make_client(*server_);
  Ec2TagSource source = tag_source(client);
  Result<std::optional<Tags>> tags = source.lookup(instance_id(1), /*expect_exists=*/true);
  ASSERT_TRUE(tags.ok()) << tags.status().to_string();
  ASSERT_TRUE(tags->has_value());
  EXPECT_EQ((*tags)->at("ghr:Owner"), "acme");
  EXPECT_EQ(client.requests_sent(), 3);
  EXPECT_EQ(sleeps_, (std::vector<std::int64_t>{200, 400}));
}

TEST_F(Ec2TagSourceOverQueryClient, NotFoundThatPersistsFailsRetryably) {
  Ec2QueryClient client = make_client(*server_);
  Ec2TagSource source = tag_source(client);
  Result<std::optional<Tags>> tags = source.lookup("i-0123456789abcdef0", /*expect_exists=*/true);
  ASSERT_FALSE(tags.ok());
  EXPECT_TRUE(tags.status().retryable()) << tags.status().to_string();
  EXPECT_EQ(client.requests_sent(), 1 + options_.not_found_retries);
}

TEST_F(Ec2TagSourceOverQueryClient, PersistentFailureSurfacesAsAFailedCall) {
  server_->launch(runner(1));
  server_->fail_next(100, 500, "InternalError");
  Ec2QueryClient client = make_client(*server_);
  Ec2TagSource source = tag_source(client);
  Result<std::optional<Tags>> tags = source.lookup(instance_id(1), true);
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().code(), Code::kUnavailable);
  EXPECT_EQ(client.requests_sent(), fast_policy().max_attempts);
  EXPECT_TRUE(sleeps_.empty());  // a failure is not a not-found: no tag-source level retry
}

}  // namespace
}  // namespace rcc
