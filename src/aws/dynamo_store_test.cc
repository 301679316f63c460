// DynamoStore: the shared Store contract on dynalite, pagination on dynalite, and the error mapping and
// request shapes through a scripted HttpClient answering the shared fixture bodies.
#include "rcc/dynamo_store.h"

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rcc/env.h"
#include "testing/dynalite.h"
#include "rcc/http_client.h"
#include "core/counter_property.h"
#include "core/store_contract.h"

namespace rcc {
namespace {

const std::vector<std::string> kProdOnly = {"prod"};

using nlohmann::json;
using testing::Dynalite;

// A fresh table on the process's dynalite for every test; a failure to start dynalite fails the test.
std::unique_ptr<Store> make_dynalite_store(int page_limit = 0) {
  auto dynalite = Dynalite::shared();
  if (!dynalite.ok()) {
    ADD_FAILURE() << dynalite.status().to_string();
    return std::make_unique<DynamoStore>(
        AwsClient(std::make_shared<BeastHttpClient>(), "http://127.0.0.1:1", "dynamodb", "us-east-1",
                  AwsCredentials{"fake", "fake", ""}),
        DynamoStoreOptions{"unavailable", page_limit});
  }
  AwsClient client = (*dynalite)->client();
  const std::string table = testing::unique_table_name("contract");
  Status s = testing::create_runner_table(client, table);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return std::make_unique<DynamoStore>(std::move(client), DynamoStoreOptions{table, page_limit});
}

INSTANTIATE_TEST_SUITE_P(Dynalite, StoreContract, ::testing::Values(StoreFactory([] { return make_dynalite_store(); })));

// The contract again with one-item pages, so every listing and count follows LastEvaluatedKey.
INSTANTIATE_TEST_SUITE_P(DynaliteOneItemPages, StoreContract,
                         ::testing::Values(StoreFactory([] { return make_dynalite_store(1); })));

InstanceIdentity runner(std::string owner) { return InstanceIdentity{true, RunnerKey{"prod", "Org", std::move(owner)}}; }

std::string instance_id(int i) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", 0x1000 + i);
  return id;
}

// The counter's convergence property (core/counter_property.h, thousands of seeds on MemoryStore in
// core_counter_property_test) on DynamoStore: fewer seeds, a fresh table each, so the conditional write as
// DynamoDB evaluates it meets the same duplicates, reordering and lost requests and responses.
TEST(DynamoStoreOnDynalite, CounterPropertyRandomFleetsConvergeToTheTruth) {
  const char* fleets_env = std::getenv("RCC_PROPERTY_DYNAMO_FLEETS");
  const int fleets = fleets_env ? std::atoi(fleets_env) : 10;
  for (int seed = 1; seed <= fleets; ++seed) {
    auto table = make_dynalite_store();
    testing::check_fleet_converges(*table, static_cast<std::uint64_t>(seed));
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "failing seed: %d\n", seed);
      return;
    }
  }
}

TEST(DynamoStoreOnDynalite, CountActiveFollowsEveryPage) {
  auto store_ptr = make_dynalite_store(2);
  auto& store = static_cast<DynamoStore&>(*store_ptr);
  for (int i = 0; i < 7; ++i) {
    auto t = make_transition(WriteMode::kUpsert, instance_id(i), InstanceState::kRunning, 100, 1000, 60, runner("acme"));
    ASSERT_EQ(*store.apply(t), WriteOutcome::kApplied);
  }
  store.client().reset_stats();
  auto n = store.count_active("prod#Org#acme");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 7);
  EXPECT_GE(store.stats().requests_sent, 4);  // pages of 2: 2+2+2+1
  EXPECT_GT(store.stats().bytes_received, 0);

  auto listed = store.list_active("prod#Org#");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 7u);
  auto items = store.list_items();
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 7u);
}

TEST(DynamoStoreOnDynalite, ItemAttributesFollowTheDesign) {
  auto dynalite = Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  AwsClient client = (*dynalite)->client();
  const std::string table = testing::unique_table_name("layout");
  ASSERT_TRUE(testing::create_runner_table(client, table).ok());
  DynamoStore store((*dynalite)->client(), {table, 0});

  const std::string id = instance_id(1);
  ASSERT_EQ(*store.apply(make_transition(WriteMode::kUpsert, id, InstanceState::kRunning, 100, 5000, 60, runner("acme"))),
            WriteOutcome::kApplied);
  auto raw = dynamodb_call(client, "GetItem", json{{"TableName", table}, {"Key", {{"pk", {{"S", id}}}}}}.dump());
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  json item = json::parse(*raw)["Item"];
  EXPECT_EQ(item["state"]["S"], "running");
  EXPECT_EQ(item["order"]["N"], std::to_string(event_order(100, InstanceState::kRunning)));
  EXPECT_EQ(item["env"]["S"], "prod");
  EXPECT_EQ(item["type"]["S"], "Org");
  EXPECT_EQ(item["owner"]["S"], "acme");
  EXPECT_EQ(item["runner"]["BOOL"], true);
  EXPECT_EQ(item["updated_ms"]["N"], "5000");
  EXPECT_EQ(item["active_key"]["S"], "prod#Org#acme");
  EXPECT_FALSE(item.contains("ttl"));

  // A known-runner write to an inactive state drops the key and sets the TTL.
  ASSERT_EQ(*store.apply(make_transition(WriteMode::kKnownRunner, id, InstanceState::kStopped, 200, 6000, 60)),
            WriteOutcome::kApplied);
  raw = dynamodb_call(client, "GetItem", json{{"TableName", table}, {"Key", {{"pk", {{"S", id}}}}}}.dump());
  ASSERT_TRUE(raw.ok());
  item = json::parse(*raw)["Item"];
  EXPECT_FALSE(item.contains("active_key"));
  EXPECT_EQ(item["ttl"]["N"], std::to_string(6 + 60));
  // ... and a later known-runner start copies the stored key back.
  ASSERT_EQ(*store.apply(make_transition(WriteMode::kKnownRunner, id, InstanceState::kPending, 300, 7000, 60)),
            WriteOutcome::kApplied);
  EXPECT_EQ(*store.count_active("prod#Org#acme"), 1);
}

TEST(DynamoTable, CreateIsIdempotentAndTtlIsUnsupportedOnDynalite) {
  auto dynalite = Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  AwsClient client = (*dynalite)->client();
  const std::string table = testing::unique_table_name("create");
  auto first = create_table(client, table);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(*first, CreateTableOutcome::kCreated);
  ASSERT_TRUE(wait_table_active(client, table, std::chrono::seconds(10)).ok());
  auto second = create_table(client, table);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(*second, CreateTableOutcome::kAlreadyExists);

  auto described = dynamodb_call(client, "DescribeTable", json{{"TableName", table}}.dump());
  ASSERT_TRUE(described.ok());
  const json t = json::parse(*described)["Table"];
  EXPECT_EQ(t["KeySchema"][0]["AttributeName"], "pk");
  EXPECT_EQ(t["GlobalSecondaryIndexes"][0]["IndexName"], "active");
  EXPECT_EQ(t["GlobalSecondaryIndexes"][0]["Projection"]["ProjectionType"], "KEYS_ONLY");
  EXPECT_EQ(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");

  auto ttl = enable_ttl(client, table);
  ASSERT_TRUE(ttl.ok()) << ttl.status().to_string();
  EXPECT_EQ(*ttl, TtlOutcome::kUnsupported);
  EXPECT_TRUE(delete_table(client, table).ok());
  EXPECT_TRUE(delete_table(client, table).ok());
}

TEST(DynamoStoreOnDynalite, MissingTableIsNotFound) {
  auto dynalite = Dynalite::shared();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
  DynamoStore store((*dynalite)->client(), {"no-such-table", 0});
  auto n = store.count_active("prod#Org#acme");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kNotFound) << n.status().to_string();
}

// ---- Error mapping and request shapes, through a scripted HttpClient ----

std::string fixture(const std::string& name) {
  const char* shared = std::getenv("RCC_SHARED_DIR");
  const std::filesystem::path path =
      std::filesystem::path(shared != nullptr ? shared : "../tests/data") / "fixtures" / "dynamodb" / name;
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "missing fixture " << path;
  return text.str();
}

// Answers each request with the next scripted response, and records the requests.
class ScriptedHttp : public HttpClient {
 public:
  std::deque<Result<HttpResponse>> answers;
  std::vector<HttpRequest> requests;

  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts&) override {
    requests.push_back(request);
    if (answers.empty()) return Status::Internal("no scripted answer left");
    auto next = answers.front();
    answers.pop_front();
    return next;
  }
};

HttpResponse answer(int status, std::string body) { return HttpResponse{status, {}, std::move(body)}; }

struct ScriptedStore {
  std::shared_ptr<ScriptedHttp> http = std::make_shared<ScriptedHttp>();
  VirtualEnv env;  // retries sleep in virtual time
  std::unique_ptr<DynamoStore> store;

  ScriptedStore() {
    AwsClientOptions options;
    options.retry.max_attempts = 4;
    options.env = &env;
    store = std::make_unique<DynamoStore>(
        AwsClient(http, "https://dynamodb.us-east-1.amazonaws.com", "dynamodb", "us-east-1",
                  AwsCredentials{"AKID", "SECRET", "TOKEN"}, options),
        DynamoStoreOptions{"runners", 0});
  }
};

Transition running_upsert() {
  return make_transition(WriteMode::kUpsert, instance_id(1), InstanceState::kRunning, 100, 1000, 60, runner("acme"));
}

TEST(DynamoErrors, EveryFixtureMaps) {
  struct Case {
    std::string file;
    std::string code;
    Code status;
  };
  for (const Case& c : std::vector<Case>{
           {"error-conditional-check-failed.json", "ConditionalCheckFailedException", Code::kInvalidArgument},
           {"error-provisioned-throughput-exceeded.json", "ProvisionedThroughputExceededException", Code::kThrottled},
           {"error-throttling.json", "ThrottlingException", Code::kThrottled},
           {"error-validation.json", "ValidationException", Code::kInvalidArgument}}) {
    ServiceError e = parse_dynamodb_error(answer(400, fixture(c.file)));
    EXPECT_EQ(e.code, c.code) << c.file;
    EXPECT_EQ(e.status.code(), c.status) << c.file << ": " << e.status.to_string();
    EXPECT_FALSE(e.message.empty()) << c.file;
  }
  EXPECT_TRUE(is_conditional_check_failed(parse_dynamodb_error(answer(400, fixture("error-conditional-check-failed.json")))));
}

TEST(DynamoErrors, DocumentedCodesAreClassified) {
  const auto code_of = [](int http, const std::string& name) {
    return parse_dynamodb_error(answer(http, R"({"__type":"com.amazonaws.dynamodb.v20120810#)" + name +
                                                 R"(","message":"m"})"))
        .status.code();
  };
  for (const char* name : {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                           "LimitExceededException"}) {
    EXPECT_EQ(code_of(400, name), Code::kThrottled) << name;
  }
  for (const char* name : {"TransactionConflictException", "ReplicatedWriteConflictException", "InvalidEndpointException"}) {
    EXPECT_EQ(code_of(400, name), Code::kUnavailable) << name;
  }
  EXPECT_EQ(code_of(500, "InternalServerError"), Code::kUnavailable);
  EXPECT_EQ(code_of(503, "ServiceUnavailable"), Code::kUnavailable);
  EXPECT_EQ(code_of(500, "InternalFailure"), Code::kUnavailable);
  EXPECT_EQ(code_of(400, "SomeFutureException"), Code::kInvalidArgument);  // unknown 4xx: not retried
  EXPECT_EQ(code_of(503, "SomeFutureException"), Code::kUnavailable);      // unknown 5xx: retried
  EXPECT_EQ(code_of(400, "ResourceNotFoundException"), Code::kNotFound);
  for (const char* name : {"AccessDeniedException", "UnrecognizedClientException", "MissingAuthenticationTokenException",
                           "IncompleteSignatureException", "InvalidSignatureException", "ExpiredTokenException",
                           "InvalidClientTokenId", "RequestExpired", "NotAuthorized", "OptInRequired"}) {
    EXPECT_EQ(code_of(400, name), Code::kPermissionDenied) << name;
  }
  // ItemCollectionSizeLimitExceededException is a size limit, not a rate: retrying cannot help
  // (regression: it was Throttled).
  for (const char* name : {"ValidationException", "SerializationException", "ResourceInUseException",
                           "ConditionalCheckFailedException", "UnknownOperationException", "InvalidParameterValue",
                           "MissingParameter", "MalformedQueryString", "ItemCollectionSizeLimitExceededException"}) {
    EXPECT_EQ(code_of(400, name), Code::kInvalidArgument) << name;
  }
  // No JSON body at all: the HTTP status decides.
  EXPECT_EQ(parse_dynamodb_error(answer(502, "<html>bad gateway</html>")).status.code(), Code::kUnavailable);
  EXPECT_EQ(parse_dynamodb_error(answer(413, "")).status.code(), Code::kInvalidArgument);
}

TEST(DynamoStoreErrors, ThrottlingIsRetriedThenSucceeds) {
  ScriptedStore s;
  s.http->answers = {answer(400, fixture("error-throttling.json")),
                     answer(400, fixture("error-provisioned-throughput-exceeded.json")), answer(200, "{}")};
  auto outcome = s.store->apply(running_upsert());
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(*outcome, WriteOutcome::kApplied);
  EXPECT_EQ(s.http->requests.size(), 3u);
  EXPECT_EQ(s.env.sleeps(), 2);
  EXPECT_EQ(s.store->stats().requests_sent, 3);
  EXPECT_EQ(s.store->stats().retries, 2);
}

TEST(DynamoStoreErrors, PersistentThrottlingFailsAfterTheBudget) {
  ScriptedStore s;
  for (int i = 0; i < 10; ++i) s.http->answers.push_back(answer(400, fixture("error-throttling.json")));
  auto outcome = s.store->apply(running_upsert());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), Code::kThrottled);
  EXPECT_EQ(s.http->requests.size(), 4u);  // max_attempts
}

TEST(DynamoStoreErrors, TransportFailuresAndServerErrorsAreRetried) {
  ScriptedStore s;
  s.http->answers = {Status::Unavailable("connection reset"), Status::Timeout("deadline"),
                     answer(500, R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"})"),
                     answer(200, R"({"Count":3,"ScannedCount":3})")};
  auto n = s.store->count_active("prod#Org#acme");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(s.store->stats().transport_errors, 2);
}

TEST(DynamoStoreErrors, ValidationIsReturnedAtOnce) {
  ScriptedStore s;
  s.http->answers = {answer(400, fixture("error-validation.json")), answer(200, "{}")};
  auto outcome = s.store->apply(running_upsert());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), Code::kInvalidArgument);
  EXPECT_NE(outcome.status().message().find("ValidationException"), std::string::npos);
  EXPECT_EQ(s.http->requests.size(), 1u);
}

TEST(DynamoStoreErrors, ConditionalCheckFailedIsSuperseded) {
  ScriptedStore s;
  s.http->answers = {answer(400, fixture("error-conditional-check-failed.json"))};
  auto outcome = s.store->apply(running_upsert());
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(*outcome, WriteOutcome::kSuperseded);
  EXPECT_EQ(s.http->requests.size(), 1u);
}

TEST(DynamoStoreErrors, HeartbeatConditionFailureIsOk) {
  ScriptedStore s;
  s.http->answers = {answer(400, fixture("error-conditional-check-failed.json"))};
  EXPECT_TRUE(s.store->stamp_heartbeat(5, kProdOnly).ok());
}

std::string header(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

// A known-runner write asked for the key asks DynamoDB for the item as written, and trusts no answer
// without it.
TEST(DynamoStoreRequests, KnownRunnerKeyComesFromTheAnswer) {
  ScriptedStore s;
  s.http->answers.push_back(answer(200, R"({"Attributes":{"pk":{"S":"i-00000001"},"rkey":{"S":"prod#Org#acme"}}})"));
  s.http->answers.push_back(answer(200, "{}"));
  s.http->answers.push_back(answer(200, R"({"Attributes":{"rkey":{"N":"5"}}})"));
  const Transition t = make_transition(WriteMode::kKnownRunner, instance_id(1), InstanceState::kRunning, 200, 1, 60);
  std::string key;
  auto applied = s.store->apply(t, &key);
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  EXPECT_EQ(key, "prod#Org#acme");
  EXPECT_EQ(json::parse(s.http->requests.at(0).body)["ReturnValues"], "ALL_NEW");
  auto bare = s.store->apply(t, &key);
  EXPECT_EQ(bare.status().code(), Code::kProtocolError) << bare.status().to_string();
  auto mistyped = s.store->apply(t, &key);
  EXPECT_EQ(mistyped.status().code(), Code::kProtocolError) << mistyped.status().to_string();
}

TEST(DynamoStoreRequests, UpdateItemShapePerMode) {
  ScriptedStore s;
  for (int i = 0; i < 3; ++i) s.http->answers.push_back(answer(200, "{}"));
  ASSERT_TRUE(s.store->apply(running_upsert()).ok());
  ASSERT_TRUE(s.store->apply(make_transition(WriteMode::kKnownRunner, instance_id(1), InstanceState::kPending, 200, 1, 60)).ok());
  ASSERT_TRUE(s.store->apply(make_transition(WriteMode::kKnownNonRunner, instance_id(1), InstanceState::kRunning, 300, 1, 60)).ok());
  ASSERT_EQ(s.http->requests.size(), 3u);

  const HttpRequest& first = s.http->requests[0];
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.url, "https://dynamodb.us-east-1.amazonaws.com/");
  EXPECT_EQ(header(first, "X-Amz-Target"), "DynamoDB_20120810.UpdateItem");
  EXPECT_EQ(header(first, "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(header(first, "X-Amz-Security-Token"), "TOKEN");
  EXPECT_TRUE(header(first, "Authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKID/"));

  const json upsert = json::parse(first.body);
  EXPECT_EQ(upsert["TableName"], "runners");
  EXPECT_EQ(upsert["Key"]["pk"]["S"], instance_id(1));
  EXPECT_EQ(upsert["ConditionExpression"],
            "attribute_not_exists(#pk) OR (#order < :order AND #state <> :terminated) OR #order > :order_bound");
  EXPECT_EQ(upsert["ExpressionAttributeValues"][":order_bound"]["N"],
            std::to_string(running_upsert().order_bound));
  EXPECT_FALSE(upsert.contains("ReturnValues"));
  EXPECT_EQ(upsert["ExpressionAttributeNames"]["#order"], "order");
  EXPECT_EQ(upsert["ExpressionAttributeValues"][":order"]["N"], std::to_string(event_order(100, InstanceState::kRunning)));
  EXPECT_EQ(upsert["ExpressionAttributeValues"][":terminated"]["S"], "terminated");
  EXPECT_NE(upsert["UpdateExpression"].get<std::string>().find("#active = :rkey"), std::string::npos);
  EXPECT_NE(upsert["UpdateExpression"].get<std::string>().find("REMOVE #unresolved, #ttl"), std::string::npos);

  const json known_runner = json::parse(s.http->requests[1].body);
  EXPECT_EQ(known_runner["ConditionExpression"],
            "attribute_exists(#pk) AND #runner = :true AND "
            "((#order < :order AND #state <> :terminated) OR #order > :order_bound)");
  EXPECT_NE(known_runner["UpdateExpression"].get<std::string>().find("#active = #rkey"), std::string::npos);

  const json known_non_runner = json::parse(s.http->requests[2].body);
  EXPECT_EQ(known_non_runner["ConditionExpression"],
            "attribute_exists(#pk) AND #runner = :false AND "
            "((#order < :order AND #state <> :terminated) OR #order > :order_bound)");
  EXPECT_NE(known_non_runner["UpdateExpression"].get<std::string>().find("#ttl = :ttl"), std::string::npos);
  EXPECT_NE(known_non_runner["UpdateExpression"].get<std::string>().find("REMOVE #active"), std::string::npos);
}

TEST(DynamoStoreRequests, QueryShapeAndPagination) {
  ScriptedStore s;
  s.http->answers = {answer(200, R"({"Count":2,"LastEvaluatedKey":{"pk":{"S":"i-1"},"active_key":{"S":"k"}}})"),
                     answer(200, R"({"Count":1})")};
  auto n = s.store->count_active("prod#Org#acme");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  const json first = json::parse(s.http->requests[0].body);
  EXPECT_EQ(first["IndexName"], "active");
  EXPECT_EQ(first["Select"], "COUNT");
  EXPECT_EQ(first["KeyConditionExpression"], "#active = :key");
  EXPECT_FALSE(first.contains("ExclusiveStartKey"));
  const json second = json::parse(s.http->requests[1].body);
  EXPECT_EQ(second["ExclusiveStartKey"]["pk"]["S"], "i-1");
}

TEST(DynamoStoreRequests, MalformedAnswerIsProtocolError) {
  ScriptedStore s;
  s.http->answers = {answer(200, "not json")};
  EXPECT_EQ(s.store->count_active("k").status().code(), Code::kProtocolError);
  s.http->answers = {answer(200, R"({"Item":{"pk":{"S":"i-1"},"state":{"S":"flying"}}})")};
  EXPECT_EQ(s.store->get("i-1").status().code(), Code::kProtocolError);
}

// Regression: an HTML 200 from a misbehaving endpoint was reported `applied` with nothing written.
TEST(DynamoStoreRequests, NonJsonSuccessBodyIsProtocolErrorForEveryWrite) {
  ScriptedStore s;
  s.http->answers = {answer(200, "<html>OK</html>")};
  auto applied = s.store->apply(running_upsert());
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), Code::kProtocolError);
  EXPECT_NE(applied.status().message().find("UpdateItem"), std::string::npos) << applied.status().to_string();
  s.http->answers = {answer(200, "")};
  EXPECT_EQ(s.store->stamp_heartbeat(5, kProdOnly).code(), Code::kProtocolError);
  s.http->answers = {answer(200, "[1]")};
  EXPECT_EQ(s.store->record_reconcile(ReconcileReport{}).code(), Code::kProtocolError);
  s.http->answers = {answer(200, "<html>OK</html>")};
  EXPECT_EQ(create_table(s.store->client(), "runners").status().code(), Code::kProtocolError);
}

// Regression: a server repeating LastEvaluatedKey kept `rcc count` querying forever.
TEST(DynamoStoreRequests, RepeatedLastEvaluatedKeyEndsThePaging) {
  ScriptedStore s;
  const std::string page = R"({"Count":1,"LastEvaluatedKey":{"pk":{"S":"i-1"},"active_key":{"S":"k"}}})";
  for (int i = 0; i < 5; ++i) s.http->answers.push_back(answer(200, page));
  auto n = s.store->count_active("k");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kProtocolError);
  EXPECT_NE(n.status().message().find("repeated LastEvaluatedKey"), std::string::npos) << n.status().to_string();
  EXPECT_EQ(s.http->requests.size(), 2u);

  s.http->answers = {answer(200, R"({"Items":[],"LastEvaluatedKey":{"pk":{"S":"a"}}})"),
                     answer(200, R"({"Items":[],"LastEvaluatedKey":{"pk":{"S":"b"}}})"),
                     answer(200, R"({"Items":[],"LastEvaluatedKey":{"pk":{"S":"a"}}})")};
  EXPECT_EQ(s.store->list_active("").status().code(), Code::kProtocolError);
  s.http->answers = {answer(200, R"({"Items":[],"LastEvaluatedKey":"next"})")};
  EXPECT_EQ(s.store->list_items().status().code(), Code::kProtocolError);
}

// A lease item nobody of ours wrote: a negative version or a count outside 0..kMaxCount (a negative count
// would let every decider overshoot the maximum, a huge one overflow the sum) is refused, not trusted; a
// long holder id is cut in the message.
TEST(DynamoStoreAnswers, CorruptLeaseIsProtocolError) {
  const auto lease_answer = [](const std::string& version, const std::string& holder, const std::string& count) {
    return R"({"Item":{"pk":{"S":"#lease#prod#Org#acme"},"version":{"N":")" + version + R"("},"grants":{"M":{")" +
           holder + R"(":{"M":{"count":{"N":")" + count + R"("},"until_ms":{"N":"5"}}}}}}})";
  };
  ScriptedStore s;
  s.http->answers = {answer(200, lease_answer("2", "h", "3"))};
  auto lease = s.store->get_lease("prod#Org#acme");
  ASSERT_TRUE(lease.ok()) << lease.status().to_string();
  EXPECT_EQ(*lease, (SlotLease{2, {{"h", GrantEntry{3, 5}}}}));
  struct Case {
    std::string version, holder, count, says;
  };
  for (const Case& c : std::vector<Case>{{"-1", "h", "3", "version is negative"},
                                         {"2", "h", "-4", "grant h has count -4, outside 0..1000000"},
                                         {"2", "h", "1000001", "outside 0..1000000"},
                                         {"2", "h", "9223372036854775807", "outside"},
                                         {"2", std::string(5000, 'x'), "-1", "(5000 bytes)"}}) {
    s.http->answers = {answer(200, lease_answer(c.version, c.holder, c.count))};
    auto refused = s.store->get_lease("prod#Org#acme");
    ASSERT_FALSE(refused.ok()) << c.count;
    EXPECT_EQ(refused.status().code(), Code::kProtocolError);
    EXPECT_NE(refused.status().message().find(c.says), std::string::npos) << refused.status().to_string();
    EXPECT_LT(refused.status().message().size(), 400u);
  }
}

// Regression: `rcc table create` aborted (type_error.306) on DescribeTable answers of unexpected types.
TEST(DynamoTable, DescribeTableOfUnexpectedTypesIsProtocolError) {
  for (const char* body : {R"({"Table":5})", R"({"Table":{"TableStatus":1}})", R"({})", R"([])",
                           R"({"Table":{"TableStatus":"ACTIVE","GlobalSecondaryIndexes":[5]}})",
                           R"({"Table":{"TableStatus":"ACTIVE","GlobalSecondaryIndexes":7}})",
                           R"({"Table":{"TableStatus":"ACTIVE","GlobalSecondaryIndexes":[{"IndexStatus":[]}]}})"}) {
    ScriptedStore s;
    s.http->answers = {answer(200, body)};
    const Status waited = wait_table_active(s.store->client(), "runners", std::chrono::milliseconds(0));
    EXPECT_EQ(waited.code(), Code::kProtocolError) << body << ": " << waited.to_string();
  }
  ScriptedStore s;
  s.http->answers = {answer(200, R"({"Table":{"TableStatus":"ACTIVE","GlobalSecondaryIndexes":[{"IndexStatus":"ACTIVE"}]}})")};
  EXPECT_TRUE(wait_table_active(s.store->client(), "runners", std::chrono::milliseconds(0)).ok());
}

// Regression: a 5xx page cut at 200 bytes inside a character made the message invalid UTF-8, and
// json::dump() of it aborted rcc.
TEST(DynamoErrors, ErrorExcerptIsValidUtf8AndBounded) {
  const std::string page = std::string(199, 'x') + "\xC3\xA9" + std::string(10000, 'y') + "\xFF";
  ServiceError e = parse_dynamodb_error(answer(502, page));
  EXPECT_EQ(e.status.code(), Code::kUnavailable);
  EXPECT_LT(e.message.size(), 260u);
  EXPECT_NO_THROW((void)json(e.status.message()).dump());
  EXPECT_NE(e.message.find("bytes)"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace rcc
