#include "core/tag_source.h"

#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rcc {

Result<InventoryTagSource> InventoryTagSource::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("inventory " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IoError("inventory " + path + ": read failed");
  auto source = from_json(text.str());
  if (!source.ok()) return source.status().with_context("inventory " + path);
  return source;
}

namespace {

// Streams an inventory document into (instance id, tags) pairs without building a JSON tree: inventories
// of a fleet day hold hundreds of thousands of instances. Members other than instance_id and tags are
// skipped, so richer inventories (the EC2 test server's) load too.
class InventoryReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  using Sink = std::function<Status(std::string, Tags)>;
  explicit InventoryReader(Sink sink) : sink_(std::move(sink)) {}

  const Status& status() const { return status_; }
  bool complete() const { return state_ == State::kDone; }

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("a boolean"); }
  bool number_integer(number_integer_t) override { return scalar("a number"); }
  bool number_unsigned(number_unsigned_t) override { return scalar("a number"); }
  bool number_float(number_float_t, const string_t&) override { return scalar("a number"); }
  bool binary(binary_t&) override { return scalar("binary"); }

  bool string(string_t& value) override {
    if (skip_depth_ > 0 || skipping_scalar_) return end_skip_scalar();
    switch (state_) {
      case State::kEntryValue:
        if (member_ == "instance_id") {
          id_ = std::move(value);
          has_id_ = true;
          state_ = State::kEntry;
          return true;
        }
        return fail(where() + "." + member_ + ": not an object");
      case State::kTagValue:
        tags_.insert_or_assign(std::move(member_), std::move(value));
        state_ = State::kTags;
        return true;
      default:
        return scalar("a string");
    }
  }

  bool start_object(std::size_t) override {
    if (skip_depth_ > 0 || skipping_scalar_) return begin_nested_skip();
    switch (state_) {
      case State::kStart: state_ = State::kRoot; return true;
      case State::kInstances:
        state_ = State::kEntry;
        has_id_ = false;
        tags_.clear();
        return true;
      case State::kEntryValue:
        if (member_ != "tags") return fail(where() + ".instance_id: not a string");
        state_ = State::kTags;
        return true;
      case State::kTagValue: return fail(where() + ".tags." + member_ + ": not a string");
      default: return fail("want {\"instances\":[...]}");
    }
  }

  bool key(string_t& name) override {
    if (skip_depth_ > 0) return true;
    switch (state_) {
      case State::kRoot:
        if (name == "instances") {
          state_ = State::kRootInstances;
        } else {
          skipping_scalar_ = true;  // another top-level member: skip its value
        }
        return true;
      case State::kEntry:
        if (name == "instance_id" || name == "tags") {
          member_ = std::move(name);
          state_ = State::kEntryValue;
        } else {
          skipping_scalar_ = true;
        }
        return true;
      case State::kTags:
        member_ = std::move(name);
        state_ = State::kTagValue;
        return true;
      default: return fail("unexpected member " + name);
    }
  }

  bool end_object() override {
    if (skip_depth_ > 0) return end_nested_skip();
    switch (state_) {
      case State::kTags: state_ = State::kEntry; return true;
      case State::kEntry: {
        if (!has_id_ || !is_instance_id(id_)) {
          return fail(where() + ".instance_id: missing or not an EC2 instance id");
        }
        Status s = sink_(std::move(id_), std::move(tags_)).with_context(where() + ".instance_id");
        if (!s.ok()) return fail_with(std::move(s));
        ++index_;
        tags_ = Tags();
        state_ = State::kInstances;
        return true;
      }
      case State::kRoot:
        if (!saw_instances_) return fail("want {\"instances\":[...]}");
        state_ = State::kDone;
        return true;
      default: return fail("unexpected end of object");
    }
  }

  bool start_array(std::size_t) override {
    if (skip_depth_ > 0 || skipping_scalar_) return begin_nested_skip();
    if (state_ == State::kRootInstances) {
      state_ = State::kInstances;
      saw_instances_ = true;
      return true;
    }
    if (state_ == State::kInstances) return fail(where() + ": not an object");
    if (state_ == State::kEntryValue) return fail(where() + "." + member_ + ": wrong type");
    if (state_ == State::kTagValue) return fail(where() + ".tags." + member_ + ": not a string");
    return fail("want {\"instances\":[...]}");
  }

  bool end_array() override {
    if (skip_depth_ > 0) return end_nested_skip();
    if (state_ == State::kInstances) {
      state_ = State::kRoot;
      return true;
    }
    return fail("unexpected end of array");
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    return fail("not valid JSON (at byte " + std::to_string(position) + ")");
  }

 private:
  enum class State { kStart, kRoot, kRootInstances, kInstances, kEntry, kEntryValue, kTags, kTagValue, kDone };

  std::string where() const { return "instances[" + std::to_string(index_) + "]"; }

  bool scalar(const char* what) {
    if (skip_depth_ > 0 || skipping_scalar_) return end_skip_scalar();
    switch (state_) {
      case State::kEntryValue: return fail(where() + "." + member_ + ": wrong type (" + what + ")");
      case State::kTagValue: return fail(where() + ".tags." + member_ + ": not a string");
      case State::kInstances: return fail(where() + ": not an object");
      default: return fail("want {\"instances\":[...]}");
    }
  }
  bool end_skip_scalar() {
    if (skip_depth_ == 0) skipping_scalar_ = false;
    return true;
  }
  bool begin_nested_skip() {
    skipping_scalar_ = false;
    ++skip_depth_;
    return true;
  }
  bool end_nested_skip() {
    --skip_depth_;
    return true;
  }
  bool fail(std::string message) { return fail_with(Status::InvalidArgument(std::move(message))); }
  bool fail_with(Status s) {
    if (status_.ok()) status_ = std::move(s);
    return false;
  }

  Sink sink_;
  Status status_;
  State state_ = State::kStart;
  bool saw_instances_ = false;
  bool skipping_scalar_ = false;
  int skip_depth_ = 0;
  std::size_t index_ = 0;
  std::string member_;
  std::string id_;
  bool has_id_ = false;
  Tags tags_;
};

}  // namespace

Result<InventoryTagSource> InventoryTagSource::from_json(std::string_view json) {
  InventoryTagSource source;
  InventoryReader reader([&source](std::string id, Tags tags) {
    const std::string copy = id;
    if (!source.tags_.emplace(std::move(id), std::move(tags)).second) {
      return Status::InvalidArgument("duplicate " + copy);
    }
    return Status();
  });
  nlohmann::json::sax_parse(json, &reader, nlohmann::json::input_format_t::json, /*strict=*/true);
  if (!reader.status().ok()) return reader.status();
  if (!reader.complete()) return Status::InvalidArgument("want {\"instances\":[...]}");
  return source;
}

Result<std::optional<Tags>> InventoryTagSource::lookup(std::string_view instance_id, bool /*expect_exists*/) {
  ++lookups_;
  const auto it = tags_.find(instance_id);
  if (it == tags_.end()) return std::optional<Tags>();
  return std::optional<Tags>(it->second);
}

Ec2TagSource::Ec2TagSource(Ec2& ec2, Options options, Env* env, const Deadline* deadline)
    : ec2_(ec2), options_(options), env_(env), deadline_(deadline) {}

Result<std::optional<Tags>> Ec2TagSource::lookup(std::string_view instance_id, bool expect_exists) {
  std::int64_t backoff_ms = options_.not_found_backoff_ms;
  for (int attempt = 0;; ++attempt) {
    auto instance = ec2_.describe_instance(instance_id);
    if (instance.ok()) return std::optional<Tags>(std::move(instance->tags));
    if (instance.status().code() != Code::kNotFound) return instance.status();
    if (!expect_exists) return std::optional<Tags>();
    const std::optional<std::int64_t> left = remaining_ms(deadline_, *env_);
    if (attempt >= options_.not_found_retries || (left && backoff_ms >= *left)) {
      // EC2's API is eventually consistent: a brand-new instance can be invisible for a while. Failing
      // the invocation lets Lambda retry the event later instead of losing it.
      return Status::Unavailable("instance " + std::string(instance_id) + " not yet visible in EC2 after " +
                                 std::to_string(attempt + 1) + " lookups (InvalidInstanceID.NotFound)");
    }
    env_->sleep_ms(backoff_ms);
    backoff_ms *= 2;
  }
}

}  // namespace rcc
