// rcc register: record launched runners in the cache table (launch registration), optionally releasing
// the slot grant the launch was decided under.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cmd_cache_flags.h"
#include "cli/commands.h"
#include "rcc/env.h"
#include "rcc/registration.h"
#include "rcc/slots.h"

namespace rcc::cli {
namespace {

struct RegisterFlags {
  CacheFlags cache;
  std::string type;
  std::string owner;
  std::vector<std::string> instances;
  std::int64_t launch_time_s = 0;
  std::string release_holder;
  SlotOptions slots;
  bool json = false;
};

int run_register(const RegisterFlags& flags) {
  const RunnerKey key{flags.cache.environment, flags.type, flags.owner};
  if (Status s = validate_runner_key(key); !s.ok()) {
    std::cerr << "rcc register: " << s.message() << '\n';
    return 2;
  }
  std::vector<LaunchedRunner> launches;
  for (const std::string& id : flags.instances) launches.push_back({id, key, flags.launch_time_s});
  const RegistrationOptions options{flags.cache.environment};
  for (const LaunchedRunner& launch : launches) {
    if (Status s = validate_launch(launch, options); !s.ok()) {
      std::cerr << "rcc register: " << s.message() << '\n';
      return 2;
    }
  }
  auto aws = connect_aws(flags.cache);
  if (!aws.ok()) {
    std::cerr << "rcc register: " << aws.status().to_string() << '\n';
    return exit_code_for(aws.status());
  }
  DynamoStore& store = *(*aws)->store;

  const auto results = register_launches(store, launches, options, Env::Default()->wall_ms());
  const std::int64_t failed = count_failures(results);
  nlohmann::json out;
  out["results"] = nlohmann::json::array();
  std::int64_t registered = 0;
  for (const RegistrationResult& r : results) {
    nlohmann::json entry = {{"instance_id", r.instance_id}};
    if (r.status.ok()) {
      entry["outcome"] = std::string(registration_outcome_name(r.outcome));
      registered += r.outcome == RegistrationOutcome::kRegistered ? 1 : 0;
    } else {
      entry["outcome"] = "failed";
      entry["error"] = r.status.to_string();
      std::cerr << "rcc register: " << r.instance_id << " not registered: " << r.status.to_string() << '\n';
    }
    if (!flags.json) std::cout << r.instance_id << ' ' << entry["outcome"].get<std::string>() << '\n';
    out["results"].push_back(std::move(entry));
  }
  out["registered"] = registered;
  out["already_known"] = static_cast<std::int64_t>(results.size()) - registered - failed;
  out["failed"] = failed;

  int code = failed > 0 ? 1 : 0;
  if (!flags.release_holder.empty()) {
    // Every instance launched takes a slot, whether its registration landed or not.
    auto released = release_slots(store, key, flags.release_holder, static_cast<std::int64_t>(launches.size()),
                                  flags.slots, Env::Default()->wall_ms());
    if (released.ok()) {
      out["release"] = std::string(release_outcome_name(*released));
      if (*released == ReleaseOutcome::kLost) {
        std::cerr << "rcc register: the slot grant was gone (it ran out and a later decision removed it, or it "
                     "was released already); a decision may have counted without these launches\n";
      }
    } else {
      out["release"] = "failed";
      out["release_error"] = released.status().to_string();
      std::cerr << "rcc register: releasing the slot grant failed: " << released.status().to_string() << '\n';
      code = 1;
    }
    if (!flags.json) std::cout << "lease " << out["release"].get<std::string>() << '\n';
  }
  if (flags.json) std::cout << out.dump() << '\n';
  return code;
}

}  // namespace

void add_register_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<RegisterFlags>();
  CLI::App* cmd = app.add_subcommand(
      "register",
      "Record runners the scale-up just launched as active runner items (launch registration), so the\n"
      "count includes them at once and the counter needs no EC2 tag lookup for them. Each instance is one\n"
      "conditional UpdateItem (attribute_not_exists(pk)): an item the counter or reconcile already wrote\n"
      "is left alone and reported as already_known, never revived or moved backward.\n"
      "\n"
      "With --release HOLDER, the slot grant `rcc slots take` wrote is released afterwards (one conditional\n"
      "UpdateItem); the instances given count as launched under it for --settle-ms.\n"
      "\n"
      "Output: one line per instance, `<id> registered|already_known|failed` (and `lease released|lost`);\n"
      "with --json one object: {\"results\":[{\"instance_id\",\"outcome\",\"error\"?}],\"registered\":N,\n"
      "\"already_known\":N,\"failed\":N,\"release\":\"released\"|\"lost\"|\"failed\"?}.\n"
      "Exit status: 0 when every instance is registered or already known (a lost grant is reported on\n"
      "stderr); 1 when an instance could not be registered or the release failed; 2 on usage errors.\n"
      "\n"
      "Example (after `rcc slots take` printed the holder id 1f2e...):\n"
      "  T=$(date +%s)   # before the CreateFleet request\n"
      "  rcc register --table runners --environment prod --type Org --owner acme --launch-time-s $T \\\n"
      "      --instance i-0123456789abcdef0 --instance i-0fedcba9876543210 --release 1f2e...");
  add_cache_flags(cmd, flags->cache, /*environment_required=*/true, CacheFlagSet::kTableOnly);
  cmd->add_option("--type", flags->type, "Runner type, the ghr:Type tag: Org or Repo")
      ->required()
      ->check(CLI::IsMember({"Org", "Repo"}));
  cmd->add_option("--owner", flags->owner, "Runner owner, the ghr:Owner tag: an org, or owner/repo")->required();
  cmd->add_option("--instance", flags->instances, "An instance id the launch returned (repeat for each)")
      ->required();
  cmd->add_option("--launch-time-s", flags->launch_time_s,
                  "Launch time in epoch seconds, taken before the launch request (not after: every event of\n"
                  "the instance must order at or after the registration)")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--release", flags->release_holder,
                  "After registering, release the slot grant of this holder id (from rcc slots take)");
  cmd->add_option("--settle-ms", flags->slots.settle_ms,
                  "With --release: how long the next decisions count these launches on top of the count")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object (see above)");
  cmd->callback([flags, &exit_code] { exit_code = run_register(*flags); });
}

}  // namespace rcc::cli
