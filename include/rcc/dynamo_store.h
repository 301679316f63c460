// DynamoStore: the Store on a DynamoDB table (docs/table-contract.md), over the DynamoDB JSON protocol (1.0).
//
// Item layout (pk is the hash key): pk (S), state (S, EC2's spelling), order (N), env, type, owner (S, the
// ghr tags as found), rkey (S, the runner's key string, on runner items only, so a known-runner write can
// SET active_key = rkey without knowing it), runner (BOOL), updated_ms (N), active_key (S, only while an
// active runner; the sparse GSI `active`, KEYS_ONLY), ttl (N, only on inactive and non-runner items).
// The meta item has pk "#meta", heartbeat_ms, reconciled_ms and reconcile_* numbers. A slot lease has pk
// "#lease#<key>", version (N), grants (M: holder id -> M {count N, until_ms N}) and ttl (N).
//
// Thread-compatible: one thread at a time (it owns an AwsClient, which is per-thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/aws_request.h"
#include "rcc/http.h"
#include "rcc/store.h"

namespace rcc {

inline constexpr std::string_view kDynamoTargetPrefix = "DynamoDB_20120810.";
inline constexpr std::string_view kActiveIndexName = "active";

// Reads a DynamoDB JSON-protocol error: the code is the part of `__type` after '#', the message is
// `message` (or `Message`). The Status it means:
//   Throttled (retried): ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded,
//     LimitExceededException.
//   Unavailable (retried): InternalServerError, InternalFailure, ServiceUnavailable, TransactionConflictException,
//     ReplicatedWriteConflictException, InvalidEndpointException, and any other 5xx.
//   InvalidArgument (not retried): ConditionalCheckFailedException (DynamoStore turns it into
//     WriteOutcome::kSuperseded), ValidationException, SerializationException, UnknownOperationException,
//     ResourceInUseException, TransactionCanceledException, IdempotentParameterMismatchException,
//     ItemCollectionSizeLimitExceededException (a size limit, not a rate), the AWS common parameter errors,
//     and any other 4xx.
//   NotFound: ResourceNotFoundException.
//   PermissionDenied: AccessDeniedException, UnrecognizedClientException, MissingAuthenticationToken(Exception),
//     IncompleteSignatureException, InvalidSignatureException, ExpiredTokenException, InvalidClientTokenId,
//     RequestExpired, NotAuthorized, OptInRequired.
ServiceError parse_dynamodb_error(const HttpResponse& response);

// True when `error` is DynamoDB's answer that a condition expression failed.
bool is_conditional_check_failed(const ServiceError& error);

struct DynamoStoreOptions {
  std::string table;
  // Limit sent with Query and Scan; 0 sends none (DynamoDB's 1 MB pages). Tests set it small to force
  // pagination.
  int page_limit = 0;
};

class DynamoStore : public Store {
 public:
  // `client` must be a client for the DynamoDB endpoint (service "dynamodb").
  DynamoStore(AwsClient client, DynamoStoreOptions options);

  // One conditional UpdateItem rendering transition_applies/apply_transition; ConditionalCheckFailed
  // gives kSuperseded.
  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override;
  // GetItem with ConsistentRead. ProtocolError when the stored item is not one this store wrote.
  Result<std::optional<InstanceItem>> get(std::string_view instance_id) override;
  // Query on the `active` index with Select=COUNT, every page.
  Result<std::int64_t> count_active(std::string_view key) override;
  // Scan of the `active` index with begins_with(active_key, prefix) (no filter for ""), every page.
  Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) override;
  // Scan of the table, every page, the meta item left out.
  Result<std::vector<InstanceItem>> list_items() override;
  Result<std::optional<MetaItem>> get_meta() override;
  // Conditional UpdateItem: SET heartbeat_ms only when absent or smaller; a failed condition is ok.
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override;
  // UpdateItem SET reconciled_ms = finished_ms and the reconcile_* figures.
  Status record_reconcile(const ReconcileReport& report) override;
  // GetItem on pk "#lease#<key>" with ConsistentRead.
  Result<SlotLease> get_lease(std::string_view key) override;
  // UpdateItem on pk "#lease#<key>": SET version = expected + 1, grants.<holder> = entry, ttl REMOVE
  // grants.<removal>... with the condition `version = :version`; for expected version 0, SET version = 1,
  // grants = {holder: entry}, ttl with the condition `attribute_not_exists(version)`.
  // ConditionalCheckFailed gives kSuperseded.
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override;
  // UpdateItem on pk "#lease#<key>": SET grants.<holder> = entry (or REMOVE grants.<holder>) with the
  // condition `attribute_exists(grants.<holder>)`; ConditionalCheckFailed gives kSuperseded.
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override;

  // Requests sent and bytes received so far (each page and retry counts).
  const AwsCallStats& stats() const { return client_.stats(); }
  AwsClient& client() { return client_; }
  const std::string& table() const { return options_.table; }

 private:
  AwsClient client_;
  DynamoStoreOptions options_;
};

// ---- Table administration (rcc table create, tests) ----

// Sends one DynamoDB operation (`operation` without prefix, e.g. "DescribeTable") with a JSON body.
// Returns the response body, or the failure (ProtocolError when a 2xx body is not a JSON object); *error
// receives the service error when there was one.
Result<std::string> dynamodb_call(AwsClient& client, std::string_view operation, std::string body,
                                  ServiceError* error = nullptr);

enum class CreateTableOutcome { kCreated, kAlreadyExists };

// CreateTable as the Terraform module declares the table: hash key pk (S), attribute active_key (S), GSI
// `active` on active_key with projection KEYS_ONLY, billing PAY_PER_REQUEST. kAlreadyExists when DynamoDB
// answers ResourceInUseException.
Result<CreateTableOutcome> create_table(AwsClient& client, std::string_view table);

// Polls DescribeTable until TableStatus is ACTIVE (and the index too). Timeout when `timeout` passes.
Status wait_table_active(AwsClient& client, std::string_view table, std::chrono::milliseconds timeout);

enum class TtlOutcome { kEnabled, kUnsupported };

// UpdateTimeToLive enabling attribute `ttl`. kUnsupported when the endpoint does not know the operation
// (dynalite answers UnknownOperationException).
Result<TtlOutcome> enable_ttl(AwsClient& client, std::string_view table);

// DeleteTable (tests). Ok when the table does not exist.
Status delete_table(AwsClient& client, std::string_view table);

}  // namespace rcc
