#include "rcc/dynamo_store.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/text.h"

namespace rcc {
namespace {

using nlohmann::json;

constexpr std::string_view kContentType = "application/x-amz-json-1.0";

// A Query or Scan stops after this many pages: 10000 pages of up to 1 MB each are far beyond any table of
// this project, so reaching it means the server keeps inventing keys.
constexpr int kMaxPages = 10000;

// Every attribute goes through an expression name: several (state, order, type, owner, ttl) are
// DynamoDB reserved words.
json attribute_names() {
  return {{"#pk", "pk"},           {"#state", "state"},     {"#order", "order"},  {"#env", "env"},
          {"#type", "type"},       {"#owner", "owner"},     {"#rkey", "rkey"},    {"#runner", "runner"},
          {"#updated", "updated_ms"}, {"#active", "active_key"}, {"#ttl", "ttl"}, {"#unresolved", "unresolved"}};
}

json S(std::string_view value) { return {{"S", std::string(value)}}; }
json N(std::int64_t value) { return {{"N", std::to_string(value)}}; }
json B(bool value) { return {{"BOOL", value}}; }

json key_of(std::string_view pk) { return {{"pk", S(pk)}}; }

// Every 2xx answer of every operation is a JSON object; anything else (an HTML page from a proxy, a cut
// body) is a protocol error, never a success.
Result<json> parse_body(const std::string& body, std::string_view operation) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Status::ProtocolError("DynamoDB " + std::string(operation) +
                                 ": response is not a JSON object: " + utf8_excerpt(body, kExcerptBytes));
  }
  return parsed;
}

// Sends `operation` with `body`; returns the answer parsed as a JSON object or the failure.
Result<json> call_json(AwsClient& client, std::string_view operation, std::string body,
                       ServiceError* error = nullptr) {
  const HttpHeaders headers = {{"X-Amz-Target", std::string(kDynamoTargetPrefix) + std::string(operation)},
                               {"Content-Type", std::string(kContentType)}};
  auto response = client.post(headers, std::move(body), parse_dynamodb_error, error);
  if (!response.ok()) return response.status().with_context(operation);
  return parse_body(response->body, operation);
}

// The string of attribute `name` of `item`; nullopt when absent; ProtocolError when of another type.
Result<std::optional<std::string>> get_s(const json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end()) return std::optional<std::string>();
  if (!it->is_object()) return Status::ProtocolError(std::string("attribute ") + name + " is not S");
  auto s = it->find("S");
  if (s == it->end() || !s->is_string()) return Status::ProtocolError(std::string("attribute ") + name + " is not S");
  return std::optional<std::string>(s->get<std::string>());
}

Result<std::optional<bool>> get_bool(const json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end()) return std::optional<bool>();
  if (!it->is_object()) return Status::ProtocolError(std::string("attribute ") + name + " is not BOOL");
  auto b = it->find("BOOL");
  if (b == it->end() || !b->is_boolean()) {
    return Status::ProtocolError(std::string("attribute ") + name + " is not BOOL");
  }
  return std::optional<bool>(b->get<bool>());
}

Result<std::optional<std::int64_t>> get_n(const json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end()) return std::optional<std::int64_t>();
  if (!it->is_object()) return Status::ProtocolError(std::string("attribute ") + name + " is not N");
  auto n = it->find("N");
  if (n == it->end() || !n->is_string()) return Status::ProtocolError(std::string("attribute ") + name + " is not N");
  const std::string& text = n->get_ref<const std::string&>();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::ProtocolError(std::string("attribute ") + name + " is not an integer: " +
                                 utf8_excerpt(text, kExcerptBytes));
  }
  return std::optional<std::int64_t>(value);
}

Result<InstanceItem> parse_instance_item(const json& item) {
  if (!item.is_object()) return Status::ProtocolError("item is not an object");
  InstanceItem out;
  auto pk = get_s(item, "pk");
  if (!pk.ok()) return pk.status();
  if (!pk->has_value()) return Status::ProtocolError("item without pk");
  out.instance_id = **pk;
  auto state = get_s(item, "state");
  if (!state.ok()) return state.status();
  auto parsed_state = state->has_value() ? parse_state(**state) : std::nullopt;
  if (!parsed_state) return Status::ProtocolError("item " + out.instance_id + ": missing or unknown state");
  out.state = *parsed_state;
  auto order = get_n(item, "order");
  if (!order.ok()) return order.status();
  if (!order->has_value()) return Status::ProtocolError("item " + out.instance_id + ": missing order");
  out.order = **order;
  auto runner = get_bool(item, "runner");
  if (!runner.ok() || !runner->has_value()) {
    return Status::ProtocolError("item " + out.instance_id + ": missing runner flag");
  }
  out.identity.runner = **runner;
  auto unresolved = get_bool(item, "unresolved");
  if (!unresolved.ok()) return unresolved.status().with_context("item " + out.instance_id);
  out.identity.unresolved = unresolved->value_or(false);
  for (auto [name, field] : {std::pair{"env", &out.identity.tagged.environment},
                             std::pair{"type", &out.identity.tagged.type},
                             std::pair{"owner", &out.identity.tagged.owner}}) {
    auto value = get_s(item, name);
    if (!value.ok()) return value.status();
    *field = value->value_or("");
  }
  auto updated = get_n(item, "updated_ms");
  if (!updated.ok()) return updated.status();
  out.updated_ms = updated->value_or(0);
  auto active = get_s(item, "active_key");
  if (!active.ok()) return active.status();
  out.active_key = *active;
  auto ttl = get_n(item, "ttl");
  if (!ttl.ok()) return ttl.status();
  out.ttl_s = *ttl;
  return out;
}

// A lease item: version (N) and grants (M: holder -> M {count N, until_ms N}), both absent before the
// first grant.
Result<SlotLease> parse_lease(const json& item) {
  if (!item.is_object()) return Status::ProtocolError("lease item is not an object");
  SlotLease lease;
  auto version = get_n(item, "version");
  if (!version.ok()) return version.status();
  lease.version = version->value_or(0);
  if (lease.version < 0) return Status::ProtocolError("lease version is negative: " + std::to_string(lease.version));
  auto grants = item.find("grants");
  if (grants == item.end()) return lease;
  if (!grants->is_object()) return Status::ProtocolError("attribute grants is not M");
  auto map = grants->find("M");
  if (map == grants->end() || !map->is_object()) return Status::ProtocolError("attribute grants is not M");
  for (const auto& [holder, entry] : map->items()) {
    const std::string where = "grant " + utf8_excerpt(holder, kExcerptBytes);
    if (!entry.is_object()) return Status::ProtocolError(where + " is not M");
    auto fields = entry.find("M");
    if (fields == entry.end() || !fields->is_object()) return Status::ProtocolError(where + " is not M");
    auto count = get_n(*fields, "count");
    auto until = get_n(*fields, "until_ms");
    if (!count.ok()) return count.status();
    if (!until.ok()) return until.status();
    if (!count->has_value() || !until->has_value()) return Status::ProtocolError(where + " without count or until_ms");
    if (!GrantEntry::count_in_range(**count)) {
      return Status::ProtocolError(where + " has count " + std::to_string(**count) + ", outside 0.." +
                                   std::to_string(GrantEntry::kMaxCount));
    }
    lease.grants.emplace(holder, GrantEntry{**count, **until});
  }
  return lease;
}

json grant_entry(const GrantEntry& entry) {
  return {{"M", {{"count", N(entry.count)}, {"until_ms", N(entry.until_ms)}}}};
}

bool contains_code(std::string_view code, std::initializer_list<std::string_view> codes) {
  for (std::string_view c : codes) {
    if (c == code) return true;
  }
  return false;
}

// Sends `request` as `operation` with `send`, following LastEvaluatedKey, and hands every page to
// `on_page`. Returns the first failure of a request or of `on_page`; ProtocolError when a page repeats a
// LastEvaluatedKey seen before (the loop would never end), when it is not an object, or after kMaxPages.
Status for_each_page(const std::function<Result<json>(std::string_view, std::string)>& send,
                     std::string_view operation, json request, int page_limit,
                     const std::function<Status(const json& page)>& on_page) {
  if (page_limit > 0) request["Limit"] = page_limit;
  std::set<std::string> keys_seen;
  for (int page_number = 1;; ++page_number) {
    auto page = send(operation, dump_json(request));
    if (!page.ok()) return page.status();
    RCC_RETURN_IF_ERROR(on_page(*page));
    auto last = page->find("LastEvaluatedKey");
    if (last == page->end() || last->is_null() || (last->is_object() && last->empty())) return Status();
    const std::string where = "DynamoDB " + std::string(operation) + " page " + std::to_string(page_number);
    if (!last->is_object()) return Status::ProtocolError(where + ": LastEvaluatedKey is not an object");
    std::string key_text = dump_json(*last);
    if (!keys_seen.insert(key_text).second) {
      return Status::ProtocolError(where + " repeated LastEvaluatedKey " + utf8_excerpt(key_text, kExcerptBytes));
    }
    if (page_number >= kMaxPages) {
      return Status::ProtocolError(where + ": still more pages after " + std::to_string(kMaxPages));
    }
    request["ExclusiveStartKey"] = *last;
  }
}

// Whether a DescribeTable answer says the table and every index are ACTIVE; ProtocolError naming the
// member when the answer has another shape (every value is type-checked before use).
Result<bool> table_is_active(const json& answer) {
  const auto table = answer.find("Table");
  if (table == answer.end() || !table->is_object()) return Status::ProtocolError("DescribeTable: Table is not an object");
  const auto status = table->find("TableStatus");
  if (status == table->end() || !status->is_string()) {
    return Status::ProtocolError("DescribeTable: Table.TableStatus is not a string");
  }
  bool active = status->get_ref<const std::string&>() == "ACTIVE";
  const auto indexes = table->find("GlobalSecondaryIndexes");
  if (indexes == table->end()) return active;
  if (!indexes->is_array()) return Status::ProtocolError("DescribeTable: Table.GlobalSecondaryIndexes is not an array");
  for (const json& index : *indexes) {
    if (!index.is_object()) return Status::ProtocolError("DescribeTable: a GlobalSecondaryIndexes entry is not an object");
    const auto index_status = index.find("IndexStatus");
    if (index_status == index.end()) continue;  // DynamoDB Local and dynalite may leave it out
    if (!index_status->is_string()) {
      return Status::ProtocolError("DescribeTable: GlobalSecondaryIndexes[].IndexStatus is not a string");
    }
    active = active && index_status->get_ref<const std::string&>() == "ACTIVE";
  }
  return active;
}

}  // namespace

ServiceError parse_dynamodb_error(const HttpResponse& response) {
  ServiceError error;
  error.http_status = response.status;
  json body = json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    if (auto type = body.find("__type"); type != body.end() && type->is_string()) {
      const std::string& text = type->get_ref<const std::string&>();
      const std::size_t hash = text.rfind('#');
      error.code = hash == std::string::npos ? text : text.substr(hash + 1);
    }
    for (const char* key : {"message", "Message"}) {
      if (auto m = body.find(key); m != body.end() && m->is_string()) error.message = m->get<std::string>();
    }
  } else {
    error.message = utf8_excerpt(response.body, kExcerptBytes);
  }
  if (error.message.size() > kExcerptBytes) error.message = utf8_excerpt(error.message, kExcerptBytes);
  std::string what = error.code.empty() ? "HTTP " + std::to_string(response.status) : error.code;
  if (!error.message.empty()) what += ": " + error.message;
  const std::string_view code = error.code;

  if (contains_code(code, {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                           "LimitExceededException"})) {
    error.status = Status::Throttled(what);
  } else if (contains_code(code, {"InternalServerError", "InternalFailure", "ServiceUnavailable",
                                  "ServiceUnavailableException", "TransactionConflictException",
                                  "ReplicatedWriteConflictException", "InvalidEndpointException"})) {
    error.status = Status::Unavailable(what);
  } else if (response.status >= 500) {
    error.status = Status::Unavailable(what);
  } else if (contains_code(code, {"ConditionalCheckFailedException", "TransactionCanceledException",
                                  "ValidationException", "SerializationException", "UnknownOperationException",
                                  "ResourceInUseException", "IdempotentParameterMismatchException",
                                  // A size limit of an item collection: trying again cannot help.
                                  "ItemCollectionSizeLimitExceededException",
                                  // AWS common errors
                                  "ValidationError", "InvalidAction", "InvalidParameterCombination",
                                  "InvalidParameterValue", "InvalidQueryParameter", "MalformedQueryString",
                                  "MissingAction", "MissingParameter"})) {
    error.status = Status::InvalidArgument(what);
  } else if (contains_code(code, {"ResourceNotFoundException", "TableNotFoundException"})) {
    error.status = Status::NotFound(what);
  } else if (contains_code(code, {"AccessDeniedException", "UnrecognizedClientException",
                                  "MissingAuthenticationTokenException", "MissingAuthenticationToken",
                                  "IncompleteSignatureException", "InvalidSignatureException", "ExpiredTokenException",
                                  "InvalidClientTokenId", "RequestExpired", "NotAuthorized", "OptInRequired"})) {
    error.status = Status::PermissionDenied(what);
  } else {
    error.status = status_for_http(response.status, what);
  }
  return error;
}

bool is_conditional_check_failed(const ServiceError& error) {
  return error.code == "ConditionalCheckFailedException";
}

Result<std::string> dynamodb_call(AwsClient& client, std::string_view operation, std::string body,
                                  ServiceError* error) {
  auto answer = call_json(client, operation, std::move(body), error);
  if (!answer.ok()) return answer.status();
  return dump_json(*answer);
}

DynamoStore::DynamoStore(AwsClient client, DynamoStoreOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

Result<WriteOutcome> DynamoStore::apply(const Transition& t, std::string* key) {
  json values = {{":order", N(t.order)},
                 {":terminated", S(state_name(InstanceState::kTerminated))},
                 {":state", S(state_name(t.state))},
                 {":updated", N(t.updated_ms)}};
  std::vector<std::string> set = {"#state = :state", "#order = :order", "#updated = :updated"};
  std::vector<std::string> remove;
  std::string condition;
  // The order rule; an item whose order is beyond any honest clock is overwritten whatever its state (see
  // Transition). `moves` for a clause of its own, `moves_in_and` inside an AND (DynamoDB refuses
  // redundant parentheses).
  const std::string newer = "#order < :order AND #state <> :terminated";
  std::string moves = "(" + newer + ")";
  std::string moves_in_and = newer;
  if (t.order_bound > 0 && !is_create_mode(t.mode)) {
    moves += " OR #order > :order_bound";
    moves_in_and = "(" + moves + ")";
    values[":order_bound"] = N(t.order_bound);
  }
  const bool active = is_active(t.state);
  switch (t.mode) {
    case WriteMode::kUpsert:
    case WriteMode::kCreateOnly:
    case WriteMode::kCreateUnresolved: {
      if (t.mode == WriteMode::kUpsert) {
        condition = "attribute_not_exists(#pk) OR " + moves;
      } else {
        condition = "attribute_not_exists(#pk)";
        values.erase(":terminated");
      }
      if (t.mode == WriteMode::kCreateOnly) {
        // A registration also claims an unresolved item that is still active, keeping the state and order
        // the counter recorded (if_not_exists: they exist only on such an item).
        condition += " OR (#unresolved = :true AND #state IN (:pending, :running))";
        set[0] = "#state = if_not_exists(#state, :state)";
        set[1] = "#order = if_not_exists(#order, :order)";
        values[":true"] = B(true);
        values[":pending"] = S(state_name(InstanceState::kPending));
        values[":running"] = S(state_name(InstanceState::kRunning));
      }
      const RunnerKey& tagged = t.identity.tagged;
      set.push_back("#runner = :runner");
      values[":runner"] = B(t.identity.runner);
      if (t.identity.unresolved) {
        set.push_back("#unresolved = :true");
        values[":true"] = B(true);
      } else {
        remove.push_back("#unresolved");
      }
      // Empty tag values are left out (REMOVEd): not every DynamoDB implementation accepts empty strings.
      for (auto [placeholder, name, value] : {std::tuple{":env", "#env", &tagged.environment},
                                              std::tuple{":type", "#type", &tagged.type},
                                              std::tuple{":owner", "#owner", &tagged.owner}}) {
        if (value->empty()) {
          remove.push_back(name);
        } else {
          set.push_back(std::string(name) + " = " + placeholder);
          values[placeholder] = S(*value);
        }
      }
      if (t.identity.runner) {
        values[":rkey"] = S(tagged.str());
        set.push_back("#rkey = :rkey");
        if (active) {
          set.push_back("#active = :rkey");
        }
      } else {
        remove.push_back("#rkey");
      }
      if (!(t.identity.runner && active)) remove.push_back("#active");
      break;
    }
    case WriteMode::kKnownRunner:
      condition = "attribute_exists(#pk) AND #runner = :true AND " + moves_in_and;
      values[":true"] = B(true);
      if (active) {
        set.push_back("#active = #rkey");
      } else {
        remove.push_back("#active");
      }
      break;
    case WriteMode::kKnownNonRunner:
      condition = "attribute_exists(#pk) AND #runner = :false AND " + moves_in_and;
      values[":false"] = B(false);
      remove.push_back("#active");
      break;
  }
  const bool active_runner = active && (t.mode == WriteMode::kKnownRunner ||
                                        (writes_identity(t.mode) && t.identity.runner));
  if (active_runner) {
    remove.push_back("#ttl");
  } else {
    set.push_back("#ttl = :ttl");
    values[":ttl"] = N(t.ttl_s);
  }

  std::string update = "SET ";
  for (std::size_t i = 0; i < set.size(); ++i) update += (i ? ", " : "") + set[i];
  if (!remove.empty()) {
    update += " REMOVE ";
    for (std::size_t i = 0; i < remove.size(); ++i) update += (i ? ", " : "") + remove[i];
  }
  // Only the names the expressions use may be sent.
  json names = json::object();
  const json all_names = attribute_names();
  for (const auto& [placeholder, attribute] : all_names.items()) {
    if (update.find(placeholder) != std::string::npos || condition.find(placeholder) != std::string::npos) {
      names[placeholder] = attribute;
    }
  }
  json request = {{"TableName", options_.table},
                  {"Key", key_of(t.instance_id)},
                  {"UpdateExpression", update},
                  {"ConditionExpression", condition},
                  {"ExpressionAttributeNames", names},
                  {"ExpressionAttributeValues", values}};
  // A known-runner write does not carry the key: the answer does, when asked for (it costs no capacity).
  const bool key_from_answer = key != nullptr && t.mode == WriteMode::kKnownRunner;
  if (key_from_answer) request["ReturnValues"] = "ALL_NEW";
  ServiceError error;
  auto response = call_json(client_, "UpdateItem", dump_json(request), &error);
  if (is_conditional_check_failed(error)) return WriteOutcome::kSuperseded;
  if (!response.ok()) return response.status();
  if (key_from_answer) {
    auto attributes = response->find("Attributes");
    if (attributes == response->end() || !attributes->is_object()) {
      return Status::ProtocolError("UpdateItem ALL_NEW of " + t.instance_id + ": no Attributes object");
    }
    auto rkey = get_s(*attributes, "rkey");
    if (!rkey.ok()) return rkey.status().with_context("UpdateItem answer for " + t.instance_id);
    *key = rkey->value_or("");
  } else if (key != nullptr) {
    *key = t.identity.runner && t.mode != WriteMode::kKnownNonRunner ? t.identity.tagged.str() : "";
  }
  return WriteOutcome::kApplied;
}

Result<std::optional<InstanceItem>> DynamoStore::get(std::string_view instance_id) {
  json request = {{"TableName", options_.table}, {"Key", key_of(instance_id)}, {"ConsistentRead", true}};
  auto body = call_json(client_, "GetItem", dump_json(request));
  if (!body.ok()) return body.status();
  auto item = body->find("Item");
  if (item == body->end()) return std::optional<InstanceItem>();
  auto parsed = parse_instance_item(*item);
  if (!parsed.ok()) return parsed.status().with_context("GetItem");
  return std::optional<InstanceItem>(std::move(*parsed));
}

Result<std::int64_t> DynamoStore::count_active(std::string_view key) {
  json request = {{"TableName", options_.table},
                  {"IndexName", kActiveIndexName},
                  {"KeyConditionExpression", "#active = :key"},
                  {"ExpressionAttributeNames", {{"#active", "active_key"}}},
                  {"ExpressionAttributeValues", {{":key", S(key)}}},
                  {"Select", "COUNT"}};
  std::int64_t total = 0;
  const auto send = [this](std::string_view op, std::string body) { return call_json(client_, op, std::move(body)); };
  Status s = for_each_page(send, "Query", std::move(request), options_.page_limit, [&total](const json& page) {
    auto count = page.find("Count");
    if (count == page.end() || !count->is_number_integer()) return Status::ProtocolError("Query: no Count");
    total += count->get<std::int64_t>();
    return Status();
  });
  if (!s.ok()) return s;
  return total;
}

Result<std::vector<ActiveEntry>> DynamoStore::list_active(std::string_view key_prefix) {
  json request = {{"TableName", options_.table}, {"IndexName", kActiveIndexName}};
  if (!key_prefix.empty()) {
    request["FilterExpression"] = "begins_with(#active, :prefix)";
    request["ExpressionAttributeNames"] = {{"#active", "active_key"}};
    request["ExpressionAttributeValues"] = {{":prefix", S(key_prefix)}};
  }
  std::vector<ActiveEntry> out;
  const auto send = [this](std::string_view op, std::string body) { return call_json(client_, op, std::move(body)); };
  Status s = for_each_page(send, "Scan", std::move(request), options_.page_limit, [&out](const json& page) {
    if (auto items = page.find("Items"); items != page.end() && items->is_array()) {
      for (const json& item : *items) {
        auto pk = get_s(item, "pk");
        auto key = get_s(item, "active_key");
        if (!pk.ok() || !key.ok() || !pk->has_value() || !key->has_value()) {
          return Status::ProtocolError("Scan of the active index: entry without pk or active_key");
        }
        out.push_back(ActiveEntry{**pk, **key});
      }
    }
    return Status();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<InstanceItem>> DynamoStore::list_items() {
  json request = {{"TableName", options_.table}, {"ConsistentRead", true}};
  std::vector<InstanceItem> out;
  const auto send = [this](std::string_view op, std::string body) { return call_json(client_, op, std::move(body)); };
  Status s = for_each_page(send, "Scan", std::move(request), options_.page_limit, [&out](const json& page) {
    if (auto items = page.find("Items"); items != page.end() && items->is_array()) {
      for (const json& item : *items) {
        auto pk = get_s(item, "pk");
        // The meta item and the slot leases are not instances (instance ids never start with '#').
        if (pk.ok() && pk->has_value() && (**pk == kMetaPk || (*pk)->starts_with(kLeasePkPrefix))) continue;
        auto parsed = parse_instance_item(item);
        if (!parsed.ok()) return parsed.status().with_context("Scan");
        out.push_back(std::move(*parsed));
      }
    }
    return Status();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<MetaItem>> DynamoStore::get_meta() {
  json request = {{"TableName", options_.table}, {"Key", key_of(kMetaPk)}, {"ConsistentRead", true}};
  auto body = call_json(client_, "GetItem", dump_json(request));
  if (!body.ok()) return body.status();
  auto item = body->find("Item");
  if (item == body->end()) return std::optional<MetaItem>();
  if (!item->is_object()) return Status::ProtocolError("GetItem #meta: Item is not an object");
  MetaItem meta;
  auto heartbeat = get_n(*item, "heartbeat_ms");
  auto reconciled = get_n(*item, "reconciled_ms");
  if (!heartbeat.ok()) return heartbeat.status();
  if (!reconciled.ok()) return reconciled.status();
  meta.heartbeat_ms = *heartbeat;
  meta.reconciled_ms = *reconciled;
  if (auto envs = item->find("environments"); envs != item->end()) {
    const auto set = envs->find("SS");
    if (set == envs->end() || !set->is_array()) return Status::ProtocolError("meta item: environments is not SS");
    for (const json& e : *set) {
      if (!e.is_string()) return Status::ProtocolError("meta item: environments holds a non-string");
      meta.environments.push_back(e.get<std::string>());
    }
    std::sort(meta.environments.begin(), meta.environments.end());
  }
  if (item->contains("reconcile_finished_ms")) {
    ReconcileReport report;
    for (auto [name, field] : {std::pair{"reconcile_started_ms", &report.started_ms},
                               std::pair{"reconcile_finished_ms", &report.finished_ms},
                               std::pair{"reconcile_ec2_active", &report.ec2_active},
                               std::pair{"reconcile_table_active", &report.table_active},
                               std::pair{"reconcile_added", &report.added},
                               std::pair{"reconcile_removed", &report.removed},
                               std::pair{"reconcile_left_for_grace", &report.left_for_grace},
                               std::pair{"reconcile_ec2_calls", &report.ec2_calls}}) {
      auto value = get_n(*item, name);
      if (!value.ok()) return value.status();
      *field = value->value_or(0);
    }
    meta.last_reconcile = report;
  }
  return std::optional<MetaItem>(meta);
}

Status DynamoStore::stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) {
  if (environments.empty()) return Status::InvalidArgument("stamp_heartbeat: no environment");
  json request = {{"TableName", options_.table},
                  {"Key", key_of(kMetaPk)},
                  {"UpdateExpression", "SET #hb = :now, #envs = :envs"},
                  {"ConditionExpression", "attribute_not_exists(#hb) OR #hb < :now OR #hb > :bound"},
                  {"ExpressionAttributeNames", {{"#hb", "heartbeat_ms"}, {"#envs", "environments"}}},
                  {"ExpressionAttributeValues",
                   {{":now", N(now_ms)},
                    {":bound", N(now_ms + kMaxEventSkewMs)},
                    {":envs", {{"SS", json(std::vector<std::string>(environments.begin(), environments.end()))}}}}}};
  ServiceError error;
  auto response = call_json(client_, "UpdateItem", dump_json(request), &error);
  if (response.ok() || is_conditional_check_failed(error)) return Status();
  return response.status();
}

Status DynamoStore::record_reconcile(const ReconcileReport& report) {
  json request = {{"TableName", options_.table},
                  {"Key", key_of(kMetaPk)},
                  {"UpdateExpression",
                   "SET reconciled_ms = :finished, reconcile_started_ms = :started, reconcile_finished_ms = :finished, "
                   "reconcile_ec2_active = :ec2_active, reconcile_table_active = :table_active, "
                   "reconcile_added = :added, reconcile_removed = :removed, "
                   "reconcile_left_for_grace = :grace, reconcile_ec2_calls = :calls"},
                  {"ExpressionAttributeValues",
                   {{":finished", N(report.finished_ms)},
                    {":started", N(report.started_ms)},
                    {":ec2_active", N(report.ec2_active)},
                    {":table_active", N(report.table_active)},
                    {":added", N(report.added)},
                    {":removed", N(report.removed)},
                    {":grace", N(report.left_for_grace)},
                    {":calls", N(report.ec2_calls)},
                    {":bound", N(report.finished_ms + kMaxEventSkewMs)}}}};
  // A slow reconcile finishing after a newer one must not move reconciled_ms backward: the condition
  // fails and the newer record stays, which is the answer we want, not an error. A record further ahead
  // than the clock skew bound was written by a clock running ahead and is replaced.
  request["ConditionExpression"] =
      "attribute_not_exists(reconciled_ms) OR reconciled_ms < :finished OR reconciled_ms > :bound";
  ServiceError error;
  auto response = call_json(client_, "UpdateItem", dump_json(request), &error);
  if (response.ok() || is_conditional_check_failed(error)) return Status();
  return response.status();
}

Result<SlotLease> DynamoStore::get_lease(std::string_view key) {
  json request = {{"TableName", options_.table}, {"Key", key_of(lease_pk(key))}, {"ConsistentRead", true}};
  auto body = call_json(client_, "GetItem", dump_json(request));
  if (!body.ok()) return body.status();
  auto item = body->find("Item");
  if (item == body->end()) return SlotLease{};
  auto lease = parse_lease(*item);
  if (!lease.ok()) return lease.status().with_context("lease " + std::string(key));
  return lease;
}

Result<WriteOutcome> DynamoStore::grant_slots(std::string_view key, std::int64_t expected_version,
                                              std::string_view holder, const GrantEntry& entry,
                                              const std::vector<std::string>& removals, std::int64_t ttl_s) {
  if (Status s = validate_grant_arguments(holder, expected_version, entry, removals); !s.ok()) return s;
  json request = {{"TableName", options_.table}, {"Key", key_of(lease_pk(key))}};
  json names = {{"#grants", "grants"}, {"#ttl", "ttl"}, {"#version", "version"}};
  json values = {{":next", N(expected_version + 1)}, {":ttl", N(ttl_s)}};
  if (expected_version == 0) {
    // A nested path cannot be set in a map that does not exist yet: the first grant writes the whole map.
    request["UpdateExpression"] = "SET #version = :next, #grants = :grants, #ttl = :ttl";
    request["ConditionExpression"] = "attribute_not_exists(#version)";
    values[":grants"] = {{"M", {{std::string(holder), grant_entry(entry)}}}};
  } else {
    // Holder ids go through attribute names, so any string is a valid map key.
    std::string update = "SET #version = :next, #grants.#holder = :entry, #ttl = :ttl";
    names["#holder"] = std::string(holder);
    for (std::size_t i = 0; i < removals.size(); ++i) {
      const std::string name = "#r" + std::to_string(i);
      update += (i == 0 ? " REMOVE " : ", ") + std::string("#grants.") + name;
      names[name] = removals[i];
    }
    request["UpdateExpression"] = update;
    request["ConditionExpression"] = "#version = :version";
    values[":entry"] = grant_entry(entry);
    values[":version"] = N(expected_version);
  }
  request["ExpressionAttributeNames"] = std::move(names);
  request["ExpressionAttributeValues"] = std::move(values);
  ServiceError error;
  auto response = call_json(client_, "UpdateItem", dump_json(request), &error);
  if (response.ok()) return WriteOutcome::kApplied;
  if (is_conditional_check_failed(error)) return WriteOutcome::kSuperseded;
  return response.status();
}

Result<WriteOutcome> DynamoStore::settle_grant(std::string_view key, std::string_view holder,
                                               const std::optional<GrantEntry>& entry) {
  if (Status s = validate_settle_arguments(holder, entry); !s.ok()) return s;
  json request = {{"TableName", options_.table},
                  {"Key", key_of(lease_pk(key))},
                  {"ConditionExpression", "attribute_exists(#grants.#holder)"},
                  {"ExpressionAttributeNames", {{"#grants", "grants"}, {"#holder", std::string(holder)}}}};
  if (entry) {
    request["UpdateExpression"] = "SET #grants.#holder = :entry";
    request["ExpressionAttributeValues"] = {{":entry", grant_entry(*entry)}};
  } else {
    request["UpdateExpression"] = "REMOVE #grants.#holder";
  }
  ServiceError error;
  auto response = call_json(client_, "UpdateItem", dump_json(request), &error);
  if (response.ok()) return WriteOutcome::kApplied;
  if (is_conditional_check_failed(error)) return WriteOutcome::kSuperseded;
  return response.status();
}

Result<CreateTableOutcome> create_table(AwsClient& client, std::string_view table) {
  json request = {
      {"TableName", table},
      {"AttributeDefinitions",
       json::array({{{"AttributeName", "pk"}, {"AttributeType", "S"}},
                    {{"AttributeName", "active_key"}, {"AttributeType", "S"}}})},
      {"KeySchema", json::array({{{"AttributeName", "pk"}, {"KeyType", "HASH"}}})},
      {"GlobalSecondaryIndexes",
       json::array({{{"IndexName", kActiveIndexName},
                     {"KeySchema", json::array({{{"AttributeName", "active_key"}, {"KeyType", "HASH"}}})},
                     {"Projection", {{"ProjectionType", "KEYS_ONLY"}}}}})},
      {"BillingMode", "PAY_PER_REQUEST"}};
  ServiceError error;
  auto body = dynamodb_call(client, "CreateTable", dump_json(request), &error);
  if (body.ok()) return CreateTableOutcome::kCreated;
  if (error.code == "ResourceInUseException") return CreateTableOutcome::kAlreadyExists;
  return body.status();
}

Status wait_table_active(AwsClient& client, std::string_view table, std::chrono::milliseconds timeout) {
  Env& env = *client.env();
  const std::int64_t deadline_ms = env.monotonic_ms() + timeout.count();
  const json request = {{"TableName", table}};
  for (;;) {
    auto parsed = call_json(client, "DescribeTable", dump_json(request), nullptr);
    if (!parsed.ok()) return parsed.status();
    auto active = table_is_active(*parsed);
    if (!active.ok()) return active.status();
    if (*active) return Status();
    if (env.monotonic_ms() >= deadline_ms) {
      return Status::Timeout("table " + std::string(table) + " is not ACTIVE yet");
    }
    env.sleep_ms(25);
  }
}

Result<TtlOutcome> enable_ttl(AwsClient& client, std::string_view table) {
  json request = {{"TableName", table},
                  {"TimeToLiveSpecification", {{"AttributeName", "ttl"}, {"Enabled", true}}}};
  ServiceError error;
  auto body = dynamodb_call(client, "UpdateTimeToLive", dump_json(request), &error);
  if (body.ok()) return TtlOutcome::kEnabled;
  if (error.code == "UnknownOperationException") return TtlOutcome::kUnsupported;
  // Enabling TTL twice is refused with "TimeToLive is already enabled".
  if (error.code == "ValidationException" && error.message.find("already enabled") != std::string::npos) {
    return TtlOutcome::kEnabled;
  }
  return body.status();
}

Status delete_table(AwsClient& client, std::string_view table) {
  ServiceError error;
  auto body = dynamodb_call(client, "DeleteTable", dump_json(json{{"TableName", table}}), &error);
  if (body.ok() || error.code == "ResourceNotFoundException") return Status();
  return body.status();
}

}  // namespace rcc
