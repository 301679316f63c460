#include "rcc/tag_source.h"

#include <fstream>
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

Result<InventoryTagSource> InventoryTagSource::from_json(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  const auto instances = doc.is_object() ? doc.find("instances") : doc.end();
  if (instances == doc.end() || !instances->is_array()) {
    return Status::InvalidArgument("want {\"instances\":[...]}");
  }
  InventoryTagSource source;
  for (std::size_t i = 0; i < instances->size(); ++i) {
    const auto& entry = (*instances)[i];
    const std::string where = "instances[" + std::to_string(i) + "]";
    const auto id = entry.is_object() ? entry.find("instance_id") : entry.end();
    if (id == entry.end() || !id->is_string() || !is_instance_id(id->get_ref<const std::string&>())) {
      return Status::InvalidArgument(where + ".instance_id: missing or not an EC2 instance id");
    }
    Tags tags;
    if (const auto tag_object = entry.find("tags"); tag_object != entry.end()) {
      if (!tag_object->is_object()) return Status::InvalidArgument(where + ".tags: not an object");
      for (const auto& [key, value] : tag_object->items()) {
        if (!value.is_string()) return Status::InvalidArgument(where + ".tags." + key + ": not a string");
        tags.emplace(key, value.get<std::string>());
      }
    }
    if (!source.tags_.emplace(id->get<std::string>(), std::move(tags)).second) {
      return Status::InvalidArgument(where + ".instance_id: duplicate " + id->get<std::string>());
    }
  }
  return source;
}

Result<std::optional<Tags>> InventoryTagSource::lookup(std::string_view instance_id, bool /*expect_exists*/) {
  ++lookups_;
  const auto it = tags_.find(instance_id);
  if (it == tags_.end()) return std::optional<Tags>();
  return std::optional<Tags>(it->second);
}

Ec2TagSource::Ec2TagSource(Ec2& ec2, Options options, std::function<void(std::int64_t)> sleep_ms)
    : ec2_(ec2), options_(options), sleep_ms_(std::move(sleep_ms)) {}

Result<std::optional<Tags>> Ec2TagSource::lookup(std::string_view instance_id, bool expect_exists) {
  std::int64_t backoff_ms = options_.not_found_backoff_ms;
  for (int attempt = 0;; ++attempt) {
    auto instance = ec2_.describe_instance(instance_id);
    if (instance.ok()) return std::optional<Tags>(std::move(instance->tags));
    if (instance.status().code() != Code::kNotFound) return instance.status();
    if (!expect_exists) return std::optional<Tags>();
    if (attempt >= options_.not_found_retries) {
      // EC2's API is eventually consistent: a brand-new instance can be invisible for a while. Failing
      // the invocation lets Lambda retry the event later instead of losing it.
      return Status::Unavailable("instance " + std::string(instance_id) + " not yet visible in EC2 after " +
                                 std::to_string(attempt + 1) + " lookups (InvalidInstanceID.NotFound)");
    }
    sleep_ms_(backoff_ms);
    backoff_ms *= 2;
  }
}

}  // namespace rcc
