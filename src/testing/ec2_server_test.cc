#include "testing/ec2_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <pugixml.hpp>
#include <thread>

#include "testing/fakes.h"

namespace rcc {
namespace {

using testing::instance_id;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kAuthorization =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ec2/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, "
    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

struct Reply {
  int status = 0;
  std::string body;
};

// A tiny HTTP/1.1 client that keeps one connection open, like the production client does.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  Reply send(http::verb method, std::string target, std::string body, std::string_view authorization,
             std::string_view content_type = "application/x-www-form-urlencoded; charset=utf-8") {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.set(http::field::content_type, content_type);
    request.keep_alive(true);
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(socket_, request);
    http::response<http::string_body> response;
    http::read(socket_, buffer_, response);
    return {static_cast<int>(response.result_int()), response.body()};
  }

  Reply ec2(std::string body, std::string_view authorization = kAuthorization) {
    return send(http::verb::post, "/", "Action=DescribeInstances&Version=2016-11-15" + body, authorization);
  }

  Reply control(std::string_view path) {
    return send(http::verb::get, "/_control/" + std::string(path), "", "", "application/json");
  }

  Reply post_control(std::string_view path, std::string body) {
    return send(http::verb::post, "/_control/" + std::string(path), std::move(body), "", "application/json");
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// The instance ids of a DescribeInstancesResponse, in order, and its nextToken.
struct Page {
  std::vector<std::string> ids;
  std::vector<std::string> states;
  std::string next_token;
};

Page parse_page(const std::string& xml) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str())) << xml;
  Page page;
  pugi::xml_node root = doc.child("DescribeInstancesResponse");
  EXPECT_TRUE(root) << xml;
  for (pugi::xml_node reservation : root.child("reservationSet").children("item")) {
    for (pugi::xml_node instance : reservation.child("instancesSet").children("item")) {
      page.ids.emplace_back(instance.child_value("instanceId"));
      page.states.emplace_back(instance.child("instanceState").child_value("name"));
    }
  }
  page.next_token = root.child_value("nextToken");
  return page;
}

std::string error_code(const std::string& xml) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str())) << xml;
  pugi::xml_node response = doc.child("Response");
  EXPECT_TRUE(response.child("RequestID")) << xml;
  return response.child("Errors").child("Error").child_value("Code");
}

Ec2Instance runner(int n, InstanceState state = InstanceState::kRunning, std::string env = "prod") {
  return Ec2Instance{instance_id(n),
                     state,
                     {{"ghr:Application", "github-action-runner"}, {"ghr:environment", env}, {"ghr:Type", "Org"}},
                     1700000000000 + n};
}

class Ec2TestServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Ec2TestServer>> started = Ec2TestServer::start({});
    ASSERT_TRUE(started.ok()) << started.status().to_string();
    server_ = std::move(started).value();
    ASSERT_NE(server_->port(), 0);
    connection_ = std::make_unique<Connection>(server_->port());
  }

  std::unique_ptr<Ec2TestServer> server_;
  std::unique_ptr<Connection> connection_;
};

TEST_F(Ec2TestServerTest, DescribesAnInstanceById) {
  Ec2Instance instance = runner(1);
  instance.tags["Name"] = "a <b> & 'c'";
  server_->launch(instance);
  Reply reply = connection_->ec2("&InstanceId.1=" + instance_id(1));
  ASSERT_EQ(reply.status, 200) << reply.body;
  Page page = parse_page(reply.body);
  EXPECT_EQ(page.ids, std::vector<std::string>{instance_id(1)});
  EXPECT_EQ(page.states, std::vector<std::string>{"running"});
  EXPECT_EQ(page.next_token, "");

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(reply.body.c_str()));
  pugi::xml_node item =
      doc.child("DescribeInstancesResponse").child("reservationSet").child("item").child("instancesSet").child("item");
  EXPECT_STREQ(item.child_value("launchTime"), "2023-11-14T22:13:20.001Z");
  EXPECT_STREQ(item.child("instanceState").child_value("code"), "16");
  int tags = 0;
  for (pugi::xml_node tag : item.child("tagSet").children("item")) {
    ++tags;
    if (std::string_view(tag.child_value("key")) == "Name") {
      EXPECT_STREQ(tag.child_value("value"), "a <b> & 'c'");
    }
  }
  EXPECT_EQ(tags, 4);
}

TEST_F(Ec2TestServerTest, UnknownIdAnswersInvalidInstanceIdNotFound) {
  Reply reply = connection_->ec2("&InstanceId.1=i-0123456789abcdef0");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(error_code(reply.body), "InvalidInstanceID.NotFound");
  EXPECT_NE(reply.body.find("The instance ID 'i-0123456789abcdef0' does not exist"), std::string::npos);

  Reply malformed = connection_->ec2("&InstanceId.1=bogus");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(error_code(malformed.body), "InvalidInstanceID.Malformed");
}

TEST_F(Ec2TestServerTest, TerminatedIsDescribedAndRemovedIsNotFound) {
  server_->launch(runner(1));
  ASSERT_TRUE(server_->terminate(instance_id(1)));
  Page page = parse_page(connection_->ec2("&InstanceId.1=" + instance_id(1)).body);
  EXPECT_EQ(page.states, std::vector<std::string>{"terminated"});
  ASSERT_TRUE(server_->remove(instance_id(1)));
  EXPECT_FALSE(server_->remove(instance_id(1)));
  EXPECT_FALSE(server_->set_state(instance_id(1), InstanceState::kRunning));
  EXPECT_EQ(connection_->ec2("&InstanceId.1=" + instance_id(1)).status, 400);
}

TEST_F(Ec2TestServerTest, FiltersAreAndedAndValuesOred) {
  server_->launch(runner(1, InstanceState::kRunning, "prod"));
  server_->launch(runner(2, InstanceState::kPending, "prod"));
  server_->launch(runner(3, InstanceState::kStopped, "prod"));
  server_->launch(runner(4, InstanceState::kRunning, "staging"));
  server_->launch(Ec2Instance{instance_id(5), InstanceState::kRunning, {{"Name", "bastion"}}, 0});

  auto ids = [&](const std::string& filters) { return parse_page(connection_->ec2(filters).body).ids; };
  EXPECT_EQ(ids("&Filter.1.Name=instance-state-name&Filter.1.Value.1=pending&Filter.1.Value.2=running"
                "&Filter.2.Name=tag%3Aghr%3Aenvironment&Filter.2.Value.1=prod"),
            (std::vector<std::string>{instance_id(1), instance_id(2)}));
  EXPECT_EQ(ids("&Filter.1.Name=tag-key&Filter.1.Value.1=Name"), std::vector<std::string>{instance_id(5)});
  EXPECT_EQ(ids("&Filter.1.Name=tag%3Aghr%3Aenvironment&Filter.1.Value.1=stag*"),
            std::vector<std::string>{instance_id(4)});
  EXPECT_EQ(ids("&Filter.1.Name=instance-id&Filter.1.Value.1=" + instance_id(3) + "&Filter.1.Value.2=" +
                instance_id(5)),
            (std::vector<std::string>{instance_id(3), instance_id(5)}));
  EXPECT_EQ(ids("&Filter.1.Name=tag-key&Filter.1.Value.1=ghr%3A%3Fype"), (std::vector<std::string>{
                                                                              instance_id(1), instance_id(2),
                                                                              instance_id(3), instance_id(4)}));
  EXPECT_TRUE(ids("&Filter.1.Name=tag%3AName&Filter.1.Value.1=other").empty());
  EXPECT_EQ(ids("").size(), 5u);

  Reply bad = connection_->ec2("&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad.body), "InvalidParameterValue");
}

TEST_F(Ec2TestServerTest, PaginatesInIdOrderAcrossInventoryChanges) {
  for (int n = 10; n < 22; ++n) server_->launch(runner(n));
  Page first = parse_page(connection_->ec2("&MaxResults=5").body);
  ASSERT_EQ(first.ids.size(), 5u);
  EXPECT_EQ(first.ids.front(), instance_id(10));
  ASSERT_FALSE(first.next_token.empty());

  // An instance sorting before the token and one removed from the next page do not shift the rest.
  server_->launch(runner(1));
  server_->remove(instance_id(15));
  Page second = parse_page(connection_->ec2("&MaxResults=5&NextToken=" + first.next_token).body);
  EXPECT_EQ(second.ids, (std::vector<std::string>{instance_id(16), instance_id(17), instance_id(18), instance_id(19),
                                                  instance_id(20)}));
  Page third = parse_page(connection_->ec2("&MaxResults=5&NextToken=" + second.next_token).body);
  EXPECT_EQ(third.ids, std::vector<std::string>{instance_id(21)});
  EXPECT_EQ(third.next_token, "");
}

TEST_F(Ec2TestServerTest, RejectsBadParameters) {
  server_->launch(runner(1));
  for (std::string body : {"&MaxResults=4", "&MaxResults=1001", "&MaxResults=ten"}) {
    Reply reply = connection_->ec2(body);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(error_code(reply.body), "InvalidParameterValue") << body;
  }
  EXPECT_EQ(error_code(connection_->ec2("&MaxResults=5&InstanceId.1=" + instance_id(1)).body),
            "InvalidParameterCombination");
  EXPECT_EQ(error_code(connection_->ec2("&NextToken=garbage").body), "InvalidPaginationToken");
  EXPECT_EQ(error_code(connection_->ec2("&Colour=blue").body), "UnknownParameter");
  EXPECT_EQ(error_code(connection_->send(http::verb::post, "/", "Action=RunInstances&Version=2016-11-15",
                                         kAuthorization).body),
            "InvalidAction");
  // The control interface is not reachable through an Action.
  EXPECT_EQ(error_code(connection_->send(http::verb::post, "/", "Action=_control%2Flaunch&Version=2016-11-15",
                                         kAuthorization).body),
            "InvalidAction");
  EXPECT_EQ(error_code(connection_->send(http::verb::post, "/", "Version=2016-11-15", kAuthorization).body),
            "MissingAction");
}

TEST_F(Ec2TestServerTest, GetWithQueryStringWorksToo) {
  server_->launch(runner(1));
  Reply reply = connection_->send(http::verb::get, "/?Action=DescribeInstances&Version=2016-11-15&InstanceId.1=" +
                                                       instance_id(1), "", kAuthorization);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(parse_page(reply.body).ids, std::vector<std::string>{instance_id(1)});
}

TEST_F(Ec2TestServerTest, RejectsMissingOrMalformedAuthorization) {
  server_->launch(runner(1));
  Reply missing = connection_->ec2("", "");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(error_code(missing.body), "AuthFailure");
  for (std::string bad : {
           std::string("Bearer abc"),
           std::string("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, "
                       "SignedHeaders=host;x-amz-date, Signature=") + std::string(64, 'a'),
           std::string("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, "
                       "SignedHeaders=host;x-amz-date, Signature=abc"),
           std::string("AWS4-HMAC-SHA256 Credential=AKID/2024/us-east-1/ec2/aws4_request, "
                       "SignedHeaders=host, Signature=") + std::string(64, 'a'),
           std::string("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, "
                       "SignedHeaders=x-amz-date, Signature=") + std::string(64, 'a'),
       }) {
    Reply reply = connection_->ec2("", bad);
    EXPECT_EQ(reply.status, 401) << bad;
    EXPECT_EQ(error_code(reply.body), "AuthFailure") << bad;
  }
  EXPECT_EQ(server_->stats().failed, 6);
  EXPECT_EQ(server_->stats().succeeded, 0);
}

TEST_F(Ec2TestServerTest, TokenBucketThrottlesWithRequestLimitExceeded) {
  server_->set_bucket(3, 0.0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(connection_->ec2("").status, 200);
  Reply throttled = connection_->ec2("");
  EXPECT_EQ(throttled.status, 503);
  EXPECT_EQ(error_code(throttled.body), "RequestLimitExceeded");
  EXPECT_EQ(server_->stats().throttled, 1);
  // Unauthenticated requests are rejected before the bucket.
  EXPECT_EQ(connection_->ec2("", "").status, 401);
  server_->set_bucket(1, 0.0);
  EXPECT_EQ(connection_->ec2("").status, 200);
  EXPECT_EQ(connection_->ec2("").status, 503);
}

TEST_F(Ec2TestServerTest, InjectedFaultsAreConsumedInOrder) {
  server_->launch(runner(1));
  server_->fail_next(2);
  server_->throttle_next(1);
  std::string by_id = "&InstanceId.1=" + instance_id(1);
  Reply first = connection_->ec2(by_id);
  EXPECT_EQ(first.status, 500);
  EXPECT_EQ(error_code(first.body), "InternalError");
  EXPECT_EQ(connection_->ec2(by_id).status, 500);
  EXPECT_EQ(error_code(connection_->ec2(by_id).body), "RequestLimitExceeded");
  EXPECT_EQ(connection_->ec2(by_id).status, 200);

  server_->not_found_next(instance_id(1), 2);
  EXPECT_EQ(error_code(connection_->ec2(by_id).body), "InvalidInstanceID.NotFound");
  EXPECT_EQ(connection_->ec2("").status, 200);  // filtered requests do not consume it
  EXPECT_EQ(error_code(connection_->ec2(by_id).body), "InvalidInstanceID.NotFound");
  EXPECT_EQ(connection_->ec2(by_id).status, 200);

  server_->fail_next(1, 503, "Unavailable");
  EXPECT_EQ(error_code(connection_->ec2(by_id).body), "Unavailable");

  std::vector<Ec2ServerRequest> log = server_->request_log();
  ASSERT_EQ(log.size(), 9u);
  EXPECT_EQ(log[0].sequence, 1);
  EXPECT_EQ(log[0].error_code, "InternalError");
  EXPECT_EQ(log[0].param("InstanceId.1"), instance_id(1));
  EXPECT_EQ(log[3].http_status, 200);
  EXPECT_EQ(log[3].instances_returned, 1);
  EXPECT_EQ(server_->requests(), 9);
}

TEST_F(Ec2TestServerTest, ControlEndpointsChangeInventoryAndFaults) {
  Reply launched = connection_->post_control(
      "launch", R"({"instances":[{"instance_id":"i-0123456789abcdef0","state":"pending",
                  "launch_time":"2024-01-01T00:00:00Z","tags":{"ghr:environment":"prod"}},
                  {"instance_id":"i-12345678"}]})");
  ASSERT_EQ(launched.status, 200) << launched.body;
  EXPECT_EQ(server_->instance_count(), 2u);
  std::vector<Ec2Instance> instances = server_->instances();
  EXPECT_EQ(instances[0].state, InstanceState::kPending);
  EXPECT_EQ(instances[0].launch_time_ms, 1704067200000);
  EXPECT_EQ(instances[1].state, InstanceState::kRunning);

  EXPECT_EQ(connection_->post_control("set_state", R"({"instance_id":"i-12345678","state":"stopped"})").status, 200);
  EXPECT_EQ(server_->instances()[1].state, InstanceState::kStopped);
  EXPECT_EQ(connection_->post_control("terminate", R"({"instance_id":"i-12345678"})").status, 200);
  EXPECT_EQ(server_->instances()[1].state, InstanceState::kTerminated);
  EXPECT_EQ(connection_->post_control("remove", R"({"instance_id":"i-12345678"})").status, 200);
  EXPECT_EQ(connection_->post_control("remove", R"({"instance_id":"i-12345678"})").status, 404);
  EXPECT_EQ(connection_->post_control("set_state", R"({"instance_id":"i-0123456789abcdef0","state":"x"})").status,
            400);
  EXPECT_EQ(connection_->post_control("launch", R"({"instances":[{"instance_id":"nope"}]})").status, 400);

  EXPECT_EQ(connection_->post_control("fail", R"({"count":1,"status":500,"code":"InternalError"})").status, 200);
  EXPECT_EQ(connection_->ec2("").status, 500);
  EXPECT_EQ(connection_->post_control("throttle", R"({"count":1})").status, 200);
  EXPECT_EQ(connection_->ec2("").status, 503);
  EXPECT_EQ(connection_->post_control("not_found", R"({"instance_id":"i-0123456789abcdef0","count":1})").status,
            200);
  EXPECT_EQ(connection_->ec2("&InstanceId.1=i-0123456789abcdef0").status, 400);
  EXPECT_EQ(connection_->ec2("&InstanceId.1=i-0123456789abcdef0").status, 200);
  EXPECT_EQ(connection_->post_control("bucket", R"({"burst":1,"refill_per_s":0})").status, 200);
  EXPECT_EQ(connection_->ec2("").status, 200);
  EXPECT_EQ(connection_->ec2("").status, 503);
  EXPECT_EQ(connection_->post_control("bucket", R"({"burst":0})").status, 200);
  EXPECT_EQ(connection_->post_control("latency", R"({"fixed_ms":0,"per_instance_us":0})").status, 200);
  EXPECT_EQ(connection_->post_control("inventory", R"({"instances":[{"instance_id":"i-87654321"}]})").status, 200);
  EXPECT_EQ(server_->instance_count(), 1u);

  Reply stats = connection_->control("stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find("\"requests\":6"), std::string::npos) << stats.body;
  EXPECT_NE(stats.body.find("\"throttled\":2"), std::string::npos) << stats.body;
  EXPECT_NE(connection_->control("instances").body.find("i-87654321"), std::string::npos);
  EXPECT_NE(connection_->control("requests").body.find("\"sequence\":6"), std::string::npos);
  EXPECT_EQ(connection_->control("health").status, 200);
  EXPECT_EQ(connection_->control("nothing").status, 404);
  EXPECT_EQ(connection_->post_control("reset_counters", "{}").status, 200);
  EXPECT_EQ(server_->requests(), 0);  // control requests are never counted
}

TEST_F(Ec2TestServerTest, InventoryChangesWhileServingFromManyThreads) {
  for (int n = 0; n < 200; ++n) server_->launch(runner(n));
  server_->set_bucket(0, 0.0);  // no throttling
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      Connection connection(server_->port());
      for (int i = 0; i < 25; ++i) {
        Reply reply = connection.ec2("&Filter.1.Name=instance-state-name&Filter.1.Value.1=running");
        if (reply.status != 200) failed = true;
      }
    });
  }
  for (int n = 0; n < 200; ++n) {
    if (n % 2 == 0) server_->terminate(instance_id(n));
    server_->launch(runner(1000 + n));
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(server_->instance_count(), 400u);
  Page running = parse_page(connection_->ec2("&Filter.1.Name=instance-state-name&Filter.1.Value.1=running").body);
  EXPECT_EQ(running.ids.size(), 300u);
  EXPECT_EQ(server_->requests(), 101);
}

TEST_F(Ec2TestServerTest, StopCutsShortAnAnswerWaitingOnLatency) {
  server_->set_latency(std::chrono::hours(1), {});
  std::thread client([port = server_->port()] {
    Connection connection(port);
    EXPECT_THROW(connection.ec2(""), boost::system::system_error);
  });
  server_->wait_for_requests(1);  // the request is counted, its answer waits on the latency
  server_->stop();
  client.join();
  server_->stop();  // idempotent
}

TEST_F(Ec2TestServerTest, StopReleasesAWaitForRequests) {
  std::thread waiter([this] { server_->wait_for_requests(1); });
  server_->stop();
  waiter.join();
  EXPECT_EQ(server_->requests(), 0);
}

TEST(Ec2TestServerStart, ReportsABusyPort) {
  Result<std::unique_ptr<Ec2TestServer>> first = Ec2TestServer::start({});
  ASSERT_TRUE(first.ok());
  Ec2ServerOptions options;
  options.port = (*first)->port();
  Result<std::unique_ptr<Ec2TestServer>> second = Ec2TestServer::start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kIoError);
  options.host = "not an address";
  EXPECT_EQ(Ec2TestServer::start(options).status().code(), Code::kInvalidArgument);
}

TEST(Ec2Inventory, ParsesDefaultsAndRejectsBadEntries) {
  Result<std::vector<Ec2Instance>> parsed = parse_ec2_inventory(
      R"({"instances":[{"instance_id":"i-12345678","tags":{"a":"b"}},
                       {"instance_id":"i-0123456789abcdef0","state":"stopped","launch_time":"2024-01-01T00:00:01Z"}]})",
      42);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0], (Ec2Instance{"i-12345678", InstanceState::kRunning, {{"a", "b"}}, 42}));
  EXPECT_EQ((*parsed)[1].state, InstanceState::kStopped);
  EXPECT_EQ((*parsed)[1].launch_time_ms, 1704067201000);

  for (std::string_view bad : {"[]", "{", R"({"instances":[{"instance_id":"x"}]})",
                               R"({"instances":[{"instance_id":"i-12345678"},{"instance_id":"i-12345678"}]})",
                               R"({"instances":[{"instance_id":"i-12345678","state":"on"}]})",
                               R"({"instances":[{"instance_id":"i-12345678","launch_time":"now"}]})",
                               R"({"instances":[{"instance_id":"i-12345678","tags":{"a":1}}]})"}) {
    Result<std::vector<Ec2Instance>> result = parse_ec2_inventory(bad, 0);
    EXPECT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace rcc
