// Fuzzes the inventory file readers: InventoryTagSource::from_json (`rcc replay --inventory`), a streaming
// SAX reader, and parse_ec2_inventory (the EC2 test server's --inventory), a DOM reader, on the same text.
//
// Properties: no crash, throw or leak; a rejected file says why, naming the entry; every accepted instance
// has a well-formed id and can be looked up; the two readers agree on which ids a valid file holds.
#include <set>
#include <string>

#include "fuzz_support.h"
#include "core/tag_source.h"
#include "rcc/event.h"
#include "testing/ec2_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using rcc::fuzz::require;
  const std::string_view text = rcc::fuzz::as_text(data, size);

  auto source = rcc::InventoryTagSource::from_json(text);
  if (!source.ok()) {
    rcc::fuzz::require_explained(source.status());
    require(source.status().code() == rcc::Code::kInvalidArgument, "a rejected inventory is InvalidArgument");
  }

  auto instances = rcc::parse_ec2_inventory(text, 1700000000000);
  if (!instances.ok()) {
    rcc::fuzz::require_explained(instances.status());
    return 0;
  }
  std::set<std::string> ids;
  for (const rcc::Ec2Instance& instance : *instances) {
    require(rcc::is_instance_id(instance.instance_id), "an inventory instance has an EC2 instance id");
    ids.insert(instance.instance_id);
  }
  require(ids.size() == instances->size(), "an inventory holds each id once");
  if (!source.ok()) return 0;
  require(source->size() == ids.size(), "both readers find the same instances");
  for (const std::string& id : ids) {
    auto tags = source->lookup(id, true);
    require(tags.ok() && tags->has_value(), "every inventory instance can be looked up");
  }
  return 0;
}
