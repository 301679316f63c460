#include "testing/ec2_server.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/ec2_filter.h"
#include "core/token_bucket.h"
#include "testing/ec2_server_wire.h"
#include "testing/http_test_server.h"

namespace rcc {

using Json = nlohmann::json;
using Params = ec2_wire::Params;
using ec2_wire::append_instance_xml;
using ec2_wire::ec2_error_xml;
using ec2_wire::ec2_time;
using ec2_wire::index_after;
using ec2_wire::parse_form;
using ec2_wire::request_id;
using ec2_wire::well_formed_authorization;

const char* const kEc2ControlHelp = R"(Control endpoints (JSON, same port, no Authorization, not counted as EC2 requests):
  GET  /_control/health                       {"ok":true}
  GET  /_control/stats                        {"requests","succeeded","throttled","failed","instances_returned","instances"}
  GET  /_control/instances                    the inventory, in the --inventory format
  GET  /_control/requests                     {"requests":[{"sequence","status","error_code","instances_returned","params":[[k,v],...]}]}
  POST /_control/launch        {"instances":[{"instance_id","state"?,"launch_time"?,"tags"?}]}  add or replace
  POST /_control/inventory     same body                                  replace the whole inventory
  POST /_control/set_state     {"instance_id":"i-...","state":"stopped"}  404 when unknown
  POST /_control/terminate     {"instance_id":"i-..."}                    state terminated (still described)
  POST /_control/remove        {"instance_id":"i-..."}                    gone: InvalidInstanceID.NotFound
  POST /_control/fail          {"count":N,"status":500,"code":"InternalError"}  fail the next N EC2 requests
  POST /_control/throttle      {"count":N}                                next N answer 503 RequestLimitExceeded
  POST /_control/not_found     {"instance_id":"i-...","count":N}          next N lookups of the id: NotFound
  POST /_control/clear_faults  {}
  POST /_control/latency       {"fixed_ms":F,"per_instance_us":P}
  POST /_control/bucket        {"burst":B,"refill_per_s":R}               bucket refilled; burst 0 disables
  POST /_control/reset_counters {}
Errors answer 400 (or 404 for an unknown instance or endpoint) with {"error":"..."}.
)";

std::string Ec2ServerRequest::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return "";
}

namespace {

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;
};

Answer json_answer(int status, const Json& body) { return {status, "application/json", body.dump()}; }
Answer json_error(int status, std::string message) { return json_answer(status, Json{{"error", std::move(message)}}); }

Json instance_json(const Ec2Instance& instance) {
  Json tags = Json::object();
  for (const auto& [key, value] : instance.tags) tags[key] = value;
  return Json{{"instance_id", instance.instance_id},
              {"state", state_name(instance.state)},
              {"launch_time", ec2_time(instance.launch_time_ms)},
              {"tags", tags}};
}

}  // namespace

Result<std::vector<Ec2Instance>> parse_ec2_inventory(std::string_view json, std::int64_t default_launch_ms) {
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("inventory: not valid JSON");
  if (!doc.is_object() || !doc.contains("instances") || !doc["instances"].is_array()) {
    return Status::InvalidArgument("inventory: expected {\"instances\":[...]}");
  }
  std::vector<Ec2Instance> instances;
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < doc["instances"].size(); ++i) {
    const Json& entry = doc["instances"][i];
    std::string where = "inventory: instances[" + std::to_string(i) + "]";
    if (!entry.is_object()) return Status::InvalidArgument(where + ": not an object");
    Ec2Instance instance;
    if (!entry.contains("instance_id") || !entry["instance_id"].is_string() ||
        !is_instance_id(entry["instance_id"].get<std::string>())) {
      return Status::InvalidArgument(where + ".instance_id: missing or not an instance id");
    }
    instance.instance_id = entry["instance_id"].get<std::string>();
    if (!seen.insert(instance.instance_id).second) {
      return Status::InvalidArgument(where + ".instance_id: duplicate " + instance.instance_id);
    }
    instance.state = InstanceState::kRunning;
    if (entry.contains("state")) {
      std::optional<InstanceState> state =
          entry["state"].is_string() ? parse_state(entry["state"].get<std::string>()) : std::nullopt;
      if (!state) return Status::InvalidArgument(where + ".state: not an EC2 state name");
      instance.state = *state;
    }
    instance.launch_time_ms = default_launch_ms;
    if (entry.contains("launch_time")) {
      std::optional<std::int64_t> launch =
          entry["launch_time"].is_string() ? parse_rfc3339_ms(entry["launch_time"].get<std::string>()) : std::nullopt;
      if (!launch) return Status::InvalidArgument(where + ".launch_time: not RFC 3339");
      instance.launch_time_ms = *launch;
    }
    if (entry.contains("tags")) {
      if (!entry["tags"].is_object()) return Status::InvalidArgument(where + ".tags: not an object");
      for (const auto& [key, value] : entry["tags"].items()) {
        if (!value.is_string()) return Status::InvalidArgument(where + ".tags." + key + ": not a string");
        instance.tags.emplace(key, value.get<std::string>());
      }
    }
    instances.push_back(std::move(instance));
  }
  return instances;
}

struct Ec2TestServer::State {
  explicit State(Ec2ServerOptions opts) : options(std::move(opts)) {}

  // ---- Transport: the shared test HTTP server, calling handle() on its connection threads. ----
  Ec2ServerOptions options;
  std::unique_ptr<TestHttpServer> http;

  // ---- Everything below is guarded by mu. ----
  mutable std::mutex mu;
  std::condition_variable stop_cv;
  std::condition_variable request_cv;  // notified when an EC2 request is counted, and on stop
  bool stopping = false;

  std::map<std::string, Ec2Instance, std::less<>> inventory;

  struct InjectedFailure {
    int count = 0;
    int http_status = 500;
    std::string code;
  };
  InjectedFailure failure;
  struct InjectedAnswer {
    int count = 0;
    int http_status = 200;
    std::string content_type;
    std::string body;
  };
  InjectedAnswer raw;
  int throttles = 0;
  std::map<std::string, int, std::less<>> not_found;

  std::chrono::milliseconds latency{0};
  std::chrono::microseconds latency_per_instance{0};

  int burst = 100;
  double refill_per_s = 20;
  TokenBucket bucket{100, 20, 0};

  Ec2ServerStats stats;
  std::int64_t sequence = 0;
  std::deque<Ec2ServerRequest> log;

  // ---- Serving. ----
  TestHttpAnswer serve(const HttpRequest& request);
  Answer handle(const HttpRequest& request);
  Answer handle_ec2(const HttpRequest& request, std::string_view query);
  Answer handle_control(std::string_view method, std::string_view path, std::string_view body);
  void shutdown();

  // Requires mu.
  bool take_token();
  Answer describe(const Params& params, const std::string& id, std::int64_t* returned);
  void reset_bucket(int new_burst, double new_refill) {
    burst = new_burst;
    refill_per_s = new_refill;
    bucket = TokenBucket(new_burst, new_refill, options.env->monotonic_ms());
  }
};

namespace {

Answer ec2_error(int status, std::string_view code, std::string_view message, std::string_view id) {
  return {status, "text/xml;charset=UTF-8", ec2_error_xml(code, message, id)};
}

constexpr std::string_view kTokenPrefix = "rcc-after:";

}  // namespace

bool Ec2TestServer::State::take_token() { return bucket.take(options.env->monotonic_ms()); }

Answer Ec2TestServer::State::describe(const Params& params, const std::string& id, std::int64_t* returned) {
  std::vector<std::string> ids;
  std::map<int, Ec2Filter> filters;
  std::optional<int> max_results;
  std::string next_token;
  for (const auto& [key, value] : params) {
    std::string_view rest;
    if (key == "Action" || key == "Version" || key == "DryRun") continue;
    if (index_after(key, "InstanceId.", &rest) && rest.empty()) {
      ids.push_back(value);
    } else if (std::optional<int> n = index_after(key, "Filter.", &rest)) {
      std::string_view value_rest;
      if (rest == ".Name") {
        filters[*n].name = value;
      } else if (index_after(rest, ".Value.", &value_rest) && value_rest.empty()) {
        filters[*n].values.push_back(value);
      } else {
        return ec2_error(400, "UnknownParameter", "The parameter " + key + " is not recognized", id);
      }
    } else if (key == "MaxResults") {
      int n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 5 || n > 1000) {
        return ec2_error(400, "InvalidParameterValue",
                         "Value ( " + value + " ) for parameter maxResults is invalid. Expecting a value between "
                         "5 and 1000.", id);
      }
      max_results = n;
    } else if (key == "NextToken") {
      next_token = value;
    } else {
      return ec2_error(400, "UnknownParameter", "The parameter " + key + " is not recognized", id);
    }
  }
  if (max_results && !ids.empty()) {
    return ec2_error(400, "InvalidParameterCombination",
                     "The parameter instancesSet cannot be used with the parameter maxResults", id);
  }
  std::vector<Ec2Filter> filter_list;
  for (auto& [n, filter] : filters) filter_list.push_back(std::move(filter));
  if (const Status invalid = check_ec2_filters(filter_list); !invalid.ok()) {
    // The message is "<EC2 code>: <EC2 message>".
    const std::string& text = invalid.message();
    const std::size_t colon = text.find(": ");
    return ec2_error(400, text.substr(0, colon), text.substr(colon + 2), id);
  }

  std::vector<const Ec2Instance*> matches;
  if (!ids.empty()) {
    std::vector<std::string> missing;
    std::set<std::string_view> wanted;
    for (const std::string& instance_id : ids) {
      if (!is_instance_id(instance_id)) {
        return ec2_error(400, "InvalidInstanceID.Malformed",
                         "Invalid id: \"" + instance_id + "\" (expecting \"i-...\")", id);
      }
      auto injected = not_found.find(instance_id);
      bool hidden = injected != not_found.end() && injected->second > 0;
      if (hidden && --injected->second == 0) not_found.erase(injected);
      if (hidden || !inventory.contains(instance_id)) {
        missing.push_back(instance_id);
      } else {
        wanted.insert(instance_id);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      return ec2_error(400, "InvalidInstanceID.NotFound",
                       missing.size() == 1 ? "The instance ID '" + list + "' does not exist"
                                           : "The instance IDs '" + list + "' do not exist",
                       id);
    }
    for (std::string_view instance_id : wanted) matches.push_back(&inventory.find(instance_id)->second);
  }

  auto begin = inventory.begin();
  if (!next_token.empty()) {
    if (!next_token.starts_with(kTokenPrefix)) {
      return ec2_error(400, "InvalidPaginationToken", "The token '" + next_token + "' is invalid.", id);
    }
    begin = inventory.upper_bound(std::string_view(next_token).substr(kTokenPrefix.size()));
  }
  auto passes = [&](const Ec2Instance& instance) { return ec2_filters_match(filter_list, instance); };

  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>";
  body += id;
  body += "</requestId><reservationSet>";
  std::int64_t count = 0;
  std::string last_id;
  bool more = false;
  if (!ids.empty()) {
    for (const Ec2Instance* instance : matches) {
      if (!passes(*instance)) continue;
      append_instance_xml(body, *instance);
      ++count;
    }
  } else {
    for (auto it = begin; it != inventory.end(); ++it) {
      if (!passes(it->second)) continue;
      if (max_results && count == *max_results) {
        more = true;
        break;
      }
      append_instance_xml(body, it->second);
      last_id = it->first;
      ++count;
    }
  }
  body += "</reservationSet>";
  if (more) {
    body += "<nextToken>";
    body += kTokenPrefix;
    body += last_id;
    body += "</nextToken>";
  }
  body += "</DescribeInstancesResponse>";
  *returned = count;
  return {200, "text/xml;charset=UTF-8", std::move(body)};
}

Answer Ec2TestServer::State::handle_ec2(const HttpRequest& request, std::string_view query) {
  std::unique_lock lock(mu);
  Ec2ServerRequest entry;
  entry.sequence = ++sequence;
  ++stats.requests;
  request_cv.notify_all();
  std::string id = request_id(entry.sequence);

  Answer answer;
  std::int64_t returned = 0;
  bool params_ok = parse_form(query, entry.params);
  if (params_ok && request.method == "POST") params_ok = parse_form(request.body, entry.params);
  const auto auth = std::find_if(request.headers.begin(), request.headers.end(), [](const auto& header) {
    return boost::beast::iequals(header.first, "Authorization");
  });
  auto param = [&](std::string_view name) { return entry.param(name); };

  if (auth == request.headers.end()) {
    answer = ec2_error(401, "AuthFailure", "AWS was not able to validate the provided access credentials", id);
  } else if (!well_formed_authorization(auth->second)) {
    answer = ec2_error(401, "AuthFailure", "The Authorization header is not a well-formed AWS4-HMAC-SHA256 "
                       "signature for service ec2", id);
  } else if (failure.count > 0) {
    --failure.count;
    answer = ec2_error(failure.http_status, failure.code, "Injected failure.", id);
  } else if (raw.count > 0) {
    --raw.count;
    answer = {raw.http_status, raw.content_type, raw.body};
    entry.error_code = "(injected answer)";
  } else if (throttles > 0) {
    --throttles;
    answer = ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.", id);
  } else if (!take_token()) {
    answer = ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.", id);
  } else if (request.method != "POST" && request.method != "GET") {
    answer = ec2_error(400, "InvalidAction", "The method is not supported; use POST or GET.", id);
  } else if (!params_ok) {
    answer = ec2_error(400, "MalformedQueryString", "The query string contains a malformed escape.", id);
  } else if (param("Action").empty()) {
    answer = ec2_error(400, "MissingAction", "The request must contain the parameter Action.", id);
  } else if (param("Action") != "DescribeInstances") {
    answer = ec2_error(400, "InvalidAction", "The action " + param("Action") + " is not valid for this web service.",
                       id);
  } else if (param("Version").empty()) {
    answer = ec2_error(400, "MissingParameter", "The request must contain the parameter Version.", id);
  } else {
    answer = describe(entry.params, id, &returned);
  }

  entry.http_status = answer.status;
  entry.instances_returned = returned;
  if (entry.error_code.empty() && answer.status == 200) {
    ++stats.succeeded;
    stats.instances_returned += returned;
  } else {
    if (entry.error_code.empty()) {
      const auto code_begin = answer.body.find("<Code>") + 6;
      entry.error_code = answer.body.substr(code_begin, answer.body.find("</Code>") - code_begin);
    }
    if (entry.error_code == "RequestLimitExceeded") {
      ++stats.throttled;
    } else {
      ++stats.failed;
    }
  }
  log.push_back(std::move(entry));
  while (log.size() > options.log_capacity) log.pop_front();

  auto delay = std::chrono::duration_cast<std::chrono::microseconds>(latency) + latency_per_instance * returned;
  if (delay.count() > 0) stop_cv.wait_for(lock, delay, [&] { return stopping; });
  return answer;
}

Answer Ec2TestServer::State::handle_control(std::string_view method, std::string_view path, std::string_view text) {
  std::unique_lock lock(mu);
  if (method == "GET") {
    if (path == "health") return json_answer(200, Json{{"ok", true}});
    if (path == "stats") {
      return json_answer(200, Json{{"requests", stats.requests},
                                   {"succeeded", stats.succeeded},
                                   {"throttled", stats.throttled},
                                   {"failed", stats.failed},
                                   {"instances_returned", stats.instances_returned},
                                   {"instances", inventory.size()}});
    }
    if (path == "instances") {
      Json list = Json::array();
      for (const auto& [instance_id, instance] : inventory) list.push_back(instance_json(instance));
      return json_answer(200, Json{{"instances", list}});
    }
    if (path == "requests") {
      Json list = Json::array();
      for (const Ec2ServerRequest& r : log) {
        list.push_back(Json{{"sequence", r.sequence},
                            {"status", r.http_status},
                            {"error_code", r.error_code},
                            {"instances_returned", r.instances_returned},
                            {"params", r.params}});
      }
      return json_answer(200, Json{{"requests", list}});
    }
    return json_error(404, "unknown control endpoint GET /_control/" + std::string(path));
  }
  if (method != "POST") return json_error(404, "control endpoints take GET or POST");

  if (path == "launch" || path == "inventory") {
    Result<std::vector<Ec2Instance>> parsed = parse_ec2_inventory(text, options.env->wall_ms());
    if (!parsed.ok()) return json_error(400, parsed.status().message());
    if (path == "inventory") inventory.clear();
    for (Ec2Instance& instance : *parsed) {
      std::string instance_id = instance.instance_id;
      inventory.insert_or_assign(std::move(instance_id), std::move(instance));
    }
    return json_answer(200, Json{{"launched", parsed->size()}, {"instances", inventory.size()}});
  }

  Json body = text.empty() ? Json::object() : Json::parse(text.begin(), text.end(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return json_error(400, "body is not a JSON object");
  auto string_field = [&](const char* name) -> std::optional<std::string> {
    if (!body.contains(name) || !body[name].is_string()) return std::nullopt;
    return body[name].get<std::string>();
  };
  auto number_field = [&](const char* name, double fallback) -> std::optional<double> {
    if (!body.contains(name)) return fallback;
    if (!body[name].is_number()) return std::nullopt;
    return body[name].get<double>();
  };

  if (path == "set_state" || path == "terminate" || path == "remove") {
    std::optional<std::string> instance_id = string_field("instance_id");
    if (!instance_id) return json_error(400, "instance_id: missing or not a string");
    auto it = inventory.find(*instance_id);
    if (it == inventory.end()) return json_error(404, "unknown instance " + *instance_id);
    if (path == "remove") {
      inventory.erase(it);
    } else if (path == "terminate") {
      it->second.state = InstanceState::kTerminated;
    } else {
      std::optional<std::string> name = string_field("state");
      std::optional<InstanceState> state = name ? parse_state(*name) : std::nullopt;
      if (!state) return json_error(400, "state: missing or not an EC2 state name");
      it->second.state = *state;
    }
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "fail") {
    std::optional<double> count = number_field("count", 1);
    std::optional<double> status = number_field("status", 500);
    std::optional<std::string> code = body.contains("code") ? string_field("code") : "InternalError";
    if (!count || !status || !code || *status < 400 || *status > 599) {
      return json_error(400, "expected {\"count\":N,\"status\":4xx|5xx,\"code\":\"...\"}");
    }
    failure = {static_cast<int>(*count), static_cast<int>(*status), *code};
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "throttle") {
    std::optional<double> count = number_field("count", 1);
    if (!count) return json_error(400, "count: not a number");
    throttles = static_cast<int>(*count);
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "not_found") {
    std::optional<std::string> instance_id = string_field("instance_id");
    std::optional<double> count = number_field("count", 1);
    if (!instance_id || !count) return json_error(400, "expected {\"instance_id\":\"i-...\",\"count\":N}");
    not_found[*instance_id] = static_cast<int>(*count);
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "clear_faults") {
    failure = {};
    raw = {};
    throttles = 0;
    not_found.clear();
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "latency") {
    std::optional<double> fixed = number_field("fixed_ms", 0);
    std::optional<double> per_instance = number_field("per_instance_us", 0);
    if (!fixed || !per_instance || *fixed < 0 || *per_instance < 0) {
      return json_error(400, "expected {\"fixed_ms\":F,\"per_instance_us\":P}, both >= 0");
    }
    latency = std::chrono::milliseconds(static_cast<std::int64_t>(*fixed));
    latency_per_instance = std::chrono::microseconds(static_cast<std::int64_t>(*per_instance));
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "bucket") {
    std::optional<double> new_burst = number_field("burst", burst);
    std::optional<double> refill = number_field("refill_per_s", refill_per_s);
    if (!new_burst || !refill || *refill < 0) return json_error(400, "expected {\"burst\":B,\"refill_per_s\":R}");
    reset_bucket(static_cast<int>(*new_burst), *refill);
    return json_answer(200, Json{{"ok", true}});
  }
  if (path == "reset_counters") {
    stats = {};
    log.clear();
    return json_answer(200, Json{{"ok", true}});
  }
  return json_error(404, "unknown control endpoint POST /_control/" + std::string(path));
}

Answer Ec2TestServer::State::handle(const HttpRequest& request) {
  std::string_view target = request.url;
  std::size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  constexpr std::string_view kControl = "/_control/";
  if (path.starts_with(kControl)) {
    path.remove_prefix(kControl.size());
    return handle_control(request.method, path, request.body);
  }
  if (path != "/") return {404, "text/plain", "Not Found\n"};
  return handle_ec2(request, query);
}

TestHttpAnswer Ec2TestServer::State::serve(const HttpRequest& request) {
  Answer answer = handle(request);
  TestHttpAnswer out;
  {
    std::lock_guard lock(mu);
    // A stop cut the latency wait short: the connection closes without an answer.
    if (stopping) {
      out.kind = TestHttpAnswer::Kind::kDrop;
      return out;
    }
  }
  out.response.status = answer.status;
  out.response.headers = {{"Server", "AmazonEC2"}, {"Content-Type", std::move(answer.content_type)}};
  out.response.body = std::move(answer.body);
  return out;
}

void Ec2TestServer::State::shutdown() {
  {
    std::lock_guard lock(mu);
    if (stopping) return;
    stopping = true;
  }
  // Wake the handlers waiting on the latency first: the transport's stop() joins them.
  stop_cv.notify_all();
  request_cv.notify_all();
  if (http) http->stop();
}

Result<std::unique_ptr<Ec2TestServer>> Ec2TestServer::start(Ec2ServerOptions options) {
  auto state = std::make_shared<State>(options);
  state->latency = options.latency;
  state->latency_per_instance = options.latency_per_instance;
  state->reset_bucket(options.burst, options.refill_per_s);

  TestHttpServerOptions transport;
  transport.host = options.host;
  transport.port = options.port;
  auto http = TestHttpServer::start(transport, [raw = state.get()](const HttpRequest& request) {
    return raw->serve(request);
  });
  if (!http.ok()) return http.status();
  state->http = std::move(*http);
  return std::unique_ptr<Ec2TestServer>(new Ec2TestServer(std::move(state)));
}

Ec2TestServer::Ec2TestServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

Ec2TestServer::~Ec2TestServer() { stop(); }

void Ec2TestServer::stop() { state_->shutdown(); }

std::uint16_t Ec2TestServer::port() const { return state_->http->port(); }

std::string Ec2TestServer::endpoint() const {
  return "http://" + state_->options.host + ":" + std::to_string(state_->http->port());
}

void Ec2TestServer::launch(Ec2Instance instance) {
  std::lock_guard lock(state_->mu);
  std::string instance_id = instance.instance_id;
  state_->inventory.insert_or_assign(std::move(instance_id), std::move(instance));
}

void Ec2TestServer::launch_all(std::vector<Ec2Instance> instances) {
  std::lock_guard lock(state_->mu);
  for (Ec2Instance& instance : instances) {
    std::string instance_id = instance.instance_id;
    state_->inventory.insert_or_assign(std::move(instance_id), std::move(instance));
  }
}

bool Ec2TestServer::set_state(std::string_view instance_id, InstanceState state) {
  std::lock_guard lock(state_->mu);
  auto it = state_->inventory.find(instance_id);
  if (it == state_->inventory.end()) return false;
  it->second.state = state;
  return true;
}

bool Ec2TestServer::terminate(std::string_view instance_id) { return set_state(instance_id, InstanceState::kTerminated); }

bool Ec2TestServer::remove(std::string_view instance_id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->inventory.find(instance_id);
  if (it == state_->inventory.end()) return false;
  state_->inventory.erase(it);
  return true;
}

void Ec2TestServer::clear_inventory() {
  std::lock_guard lock(state_->mu);
  state_->inventory.clear();
}

std::vector<Ec2Instance> Ec2TestServer::instances() const {
  std::lock_guard lock(state_->mu);
  std::vector<Ec2Instance> out;
  out.reserve(state_->inventory.size());
  for (const auto& [instance_id, instance] : state_->inventory) out.push_back(instance);
  return out;
}

std::size_t Ec2TestServer::instance_count() const {
  std::lock_guard lock(state_->mu);
  return state_->inventory.size();
}

void Ec2TestServer::fail_next(int count, int http_status, std::string code) {
  std::lock_guard lock(state_->mu);
  state_->failure = {count, http_status, std::move(code)};
}

void Ec2TestServer::answer_next(int count, int http_status, std::string content_type, std::string body) {
  std::lock_guard lock(state_->mu);
  state_->raw = {count, http_status, std::move(content_type), std::move(body)};
}

void Ec2TestServer::throttle_next(int count) {
  std::lock_guard lock(state_->mu);
  state_->throttles = count;
}

void Ec2TestServer::not_found_next(std::string instance_id, int count) {
  std::lock_guard lock(state_->mu);
  state_->not_found[std::move(instance_id)] = count;
}

void Ec2TestServer::clear_faults() {
  std::lock_guard lock(state_->mu);
  state_->failure = {};
  state_->raw = {};
  state_->throttles = 0;
  state_->not_found.clear();
}

void Ec2TestServer::set_latency(std::chrono::milliseconds fixed, std::chrono::microseconds per_instance) {
  std::lock_guard lock(state_->mu);
  state_->latency = fixed;
  state_->latency_per_instance = per_instance;
}

void Ec2TestServer::set_bucket(int burst, double refill_per_s) {
  std::lock_guard lock(state_->mu);
  state_->reset_bucket(burst, refill_per_s);
}

Ec2ServerStats Ec2TestServer::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

void Ec2TestServer::wait_for_requests(std::int64_t count) const {
  std::unique_lock lock(state_->mu);
  state_->request_cv.wait(lock, [&] { return state_->stats.requests >= count || state_->stopping; });
}

std::vector<Ec2ServerRequest> Ec2TestServer::request_log() const {
  std::lock_guard lock(state_->mu);
  return {state_->log.begin(), state_->log.end()};
}

void Ec2TestServer::reset_counters() {
  std::lock_guard lock(state_->mu);
  state_->stats = {};
  state_->log.clear();
}

}  // namespace rcc
