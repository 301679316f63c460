// TagSource: where apply_event learns the tags of an instance the table does not know yet.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>

#include "rcc/deadline.h"
#include "rcc/ec2.h"
#include "rcc/env.h"
#include "rcc/runner.h"
#include "rcc/status.h"
#include "core/string_hash.h"

namespace rcc {

class TagSource {
 public:
  virtual ~TagSource() = default;

  // The tags of `instance_id`; nullopt when the source says the instance does not exist. When
  // `expect_exists` is true (the event was pending/running/stopping/stopped) a source backed by an
  // eventually consistent API retries a not-found answer before giving it.
  // Errors are returned, never swallowed: retryable ones make the caller's invocation fail and retry.
  virtual Result<std::optional<Tags>> lookup(std::string_view instance_id, bool expect_exists) = 0;
};

// Tags from an inventory file: {"instances":[{"instance_id":"i-...","tags":{"k":"v",...}}, ...]}.
// Thread-compatible; lookups do not change it.
class InventoryTagSource : public TagSource {
 public:
  // Reads and validates `path`. Returns InvalidArgument naming the entry when an instance id is
  // malformed or duplicated or a tag value is not a string, IoError when the file cannot be read.
  static Result<InventoryTagSource> from_file(const std::string& path);
  // The same from JSON text.
  static Result<InventoryTagSource> from_json(std::string_view json);

  Result<std::optional<Tags>> lookup(std::string_view instance_id, bool expect_exists) override;

  std::size_t size() const { return tags_.size(); }
  // Number of lookup() calls answered so far.
  std::int64_t lookups() const { return lookups_; }

 private:
  StringMap<Tags> tags_;
  std::int64_t lookups_ = 0;
};

// Tags from EC2 DescribeInstances by instance id. With expect_exists, InvalidInstanceID.NotFound is
// retried `not_found_retries` times with backoff (EC2 is eventually consistent for new instances) and, if
// it persists, returned as an Unavailable error so the invocation is retried later. A backoff that would
// end at or past the Deadline is not slept: the not-found is returned as that Unavailable error at once.
class Ec2TagSource : public TagSource {
 public:
  struct Options {
    int not_found_retries = 3;
    std::int64_t not_found_backoff_ms = 200;  // doubled after each attempt
  };
  // `ec2`, `env` (how the source waits) and `deadline` (null for none) must outlive this object.
  Ec2TagSource(Ec2& ec2, Options options, Env* env = Env::Default(), const Deadline* deadline = nullptr);

  Result<std::optional<Tags>> lookup(std::string_view instance_id, bool expect_exists) override;

 private:
  Ec2& ec2_;
  Options options_;
  Env* env_;
  const Deadline* deadline_;
};

}  // namespace rcc
