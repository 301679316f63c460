// rcc slots take|release: a hard per-key maximum for concurrent scale-ups (rcc/slots.h).
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cmd_cache_flags.h"
#include "cli/commands.h"
#include "rcc/env.h"
#include "rcc/slots.h"

namespace rcc::cli {
namespace {

struct SlotsFlags {
  CacheFlags cache;
  std::string type;
  std::string owner;
  std::int64_t maximum = -1;
  std::int64_t wanted = -1;
  std::string holder;
  std::int64_t launched = 0;
  SlotOptions slots;
  bool json = false;
};

void add_key_flags(CLI::App* cmd, SlotsFlags& flags) {
  cmd->add_option("--type", flags.type, "Runner type, the ghr:Type tag: Org or Repo")
      ->required()
      ->check(CLI::IsMember({"Org", "Repo"}));
  cmd->add_option("--owner", flags.owner, "Runner owner, the ghr:Owner tag: an org, or owner/repo")->required();
}

void add_ttl_flag(CLI::App* cmd, SlotsFlags& flags) {
  cmd->add_option("--ttl-seconds", flags.slots.ttl_seconds,
                  "The lease item expires this long after its last grant (TTL_SECONDS)")
      ->envname("TTL_SECONDS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

int run_take(const SlotsFlags& flags) {
  const RunnerKey key{flags.cache.environment, flags.type, flags.owner};
  if (Status s = validate_runner_key(key); !s.ok()) {
    std::cerr << "rcc slots take: " << s.message() << '\n';
    return 2;
  }
  auto options = flags.cache.reader_options();
  if (!options.ok()) {
    std::cerr << "rcc slots take: " << options.status().message() << '\n';
    return 2;
  }
  auto aws = connect_aws(flags.cache);
  if (!aws.ok()) {
    std::cerr << "rcc slots take: " << aws.status().to_string() << '\n';
    return exit_code_for(aws.status());
  }
  AwsHandles& h = **aws;
  RunnerCountReader reader(*h.store, *h.meta_store, *h.ec2, *options);
  const std::string holder = flags.holder.empty() ? new_holder_id() : flags.holder;
  const std::int64_t wanted = flags.wanted < 0 ? flags.maximum : flags.wanted;
  auto grant = take_slots(*h.store, reader, key, flags.maximum, wanted, holder, flags.slots, Env::Default());
  if (!grant.ok()) {
    if (flags.json) {
      std::cout << nlohmann::json{{"error", grant.status().message()},
                                  {"code", std::string(code_name(grant.status().code()))}}
                       .dump()
                << '\n';
    }
    std::cerr << "rcc slots take: " << grant.status().to_string() << '\n';
    return grant.status().code() == Code::kInvalidArgument ? 2 : 1;
  }
  if (flags.json) {
    nlohmann::json out = {{"allowed", grant->allowed},
                          {"holder", grant->holder},
                          {"counted", grant->counted},
                          {"count", grant->count.count},
                          {"source", std::string(source_name(grant->count.source))},
                          {"reason", std::string(reason_name(grant->count.reason))},
                          {"in_flight", grant->in_flight},
                          {"maximum", grant->maximum},
                          {"wanted", grant->wanted},
                          {"expires_ms", grant->expires_ms},
                          {"version", grant->version},
                          {"attempts", grant->attempts},
                          {"conflicts", grant->conflicts},
                          {"counts", grant->counts},
                          {"elapsed_ms", grant->elapsed_ms}};
    std::cout << out.dump() << '\n';
    return 0;
  }
  std::cout << grant->allowed << ' ' << grant->holder << '\n';
  std::cerr << "counted " << grant->counted << " (count " << grant->count.count << " from "
            << source_name(grant->count.source) << " + " << grant->in_flight
            << " granted or launched by other decisions), maximum " << grant->maximum;
  if (grant->expires_ms > 0) {
    std::cerr << "; granted until " << grant->expires_ms << " ms";
  } else {
    std::cerr << "; nothing granted, nothing to release";
  }
  std::cerr << " (" << grant->conflicts << " conflicts)\n";
  return 0;
}

int run_release(const SlotsFlags& flags) {
  const RunnerKey key{flags.cache.environment, flags.type, flags.owner};
  if (Status s = validate_runner_key(key); !s.ok()) {
    std::cerr << "rcc slots release: " << s.message() << '\n';
    return 2;
  }
  auto aws = connect_aws(flags.cache);
  if (!aws.ok()) {
    std::cerr << "rcc slots release: " << aws.status().to_string() << '\n';
    return exit_code_for(aws.status());
  }
  auto released =
      release_slots(*(*aws)->store, key, flags.holder, flags.launched, flags.slots, Env::Default()->wall_ms());
  if (!released.ok()) {
    std::cerr << "rcc slots release: " << released.status().to_string() << '\n';
    return released.status().code() == Code::kInvalidArgument ? 2 : 1;
  }
  const std::string outcome(release_outcome_name(*released));
  if (flags.json) {
    std::cout << nlohmann::json{{"release", outcome}}.dump() << '\n';
  } else {
    std::cout << outcome << '\n';
  }
  if (*released == ReleaseOutcome::kLost) {
    std::cerr << "rcc slots release: the grant was gone (it ran out and a later decision removed it, or it was "
                 "released already); a decision may have counted without this decision's launches\n";
  }
  return 0;
}

}  // namespace

void add_slots_command(CLI::App& app, int& exit_code) {
  CLI::App* slots = app.add_subcommand(
      "slots",
      "Take and release a key's slots: a hard per-key maximum for concurrent scale-ups.\n"
      "Each key has a lease item (pk \"#lease#<key>\") with a version and one grant per decision; a decision\n"
      "writes its grant with a conditional UpdateItem on the version it decided on, so grants for one key are\n"
      "made one after the other, each on all earlier ones, and never take the same free slots while the cache\n"
      "is fresh. Nobody waits for a lock (docs/counting.md, \"Taking slots\").\n"
      "\n"
      "Example:\n"
      "  read allowed holder < <(rcc slots take --table runners --environment prod --type Org \\\n"
      "      --owner acme --maximum 20 --wanted 5)\n"
      "  T=$(date +%s); # launch at most $allowed runners, then register them and release in one step:\n"
      "  rcc register --table runners --environment prod --type Org --owner acme --launch-time-s $T \\\n"
      "      --instance i-0123456789abcdef0 --release $holder\n"
      "  # or, when nothing was launched: rcc slots release ... --holder $holder --launched 0\n"
      "  # (allowed 0: nothing was granted, nothing to release)");
  slots->require_subcommand(1);

  auto take_flags = std::make_shared<SlotsFlags>();
  CLI::App* take = slots->add_subcommand(
      "take",
      "Count the key (cache when fresh, else EC2, as rcc count), read the lease (consistent GetItem) and print\n"
      "how many runners may be launched: allowed = min(wanted, maximum - counted), never below 0, where\n"
      "counted = count + the other decisions' grants and recent launches still valid on the lease item. When\n"
      "allowed > 0, the grant is written in one conditional UpdateItem on the lease's version; when another\n"
      "decision granted first, the lease is read again and the decision made again at once (the count read\n"
      "again when older than --settle-ms / 2), for up to --wait-ms. The grant reserves its slots until\n"
      "released (rcc slots release, or rcc register --release) or for --lease-ms.\n"
      "\n"
      "Output: `<allowed> <holder>` on stdout, details on stderr; with --json one object:\n"
      "  {\"allowed\",\"holder\",\"counted\",\"count\",\"source\",\"reason\",\"in_flight\",\"maximum\",\"wanted\",\n"
      "   \"expires_ms\",\"version\",\"attempts\",\"conflicts\",\"counts\",\"elapsed_ms\"}\n"
      "(expires_ms 0 when allowed is 0: nothing was written and there is nothing to release).\n"
      "Exit status: 0 with an answer (also when allowed is 0); 1 when other decisions kept granting first\n"
      "for --wait-ms, or a read or the write failed (nothing is then granted); 2 on usage errors.");
  add_cache_flags(take, take_flags->cache, /*environment_required=*/true);
  add_key_flags(take, *take_flags);
  take->add_option("--maximum", take_flags->maximum,
                   "The key's maximum of active runners (runners_maximum_count), 0.." +
                       std::to_string(GrantEntry::kMaxCount))
      ->required()
      ->check(CLI::Range(std::int64_t{0}, GrantEntry::kMaxCount));
  take->add_option("--wanted", take_flags->wanted, "How many runners the decision would launch (default: --maximum)")
      ->check(CLI::NonNegativeNumber);
  take->add_option("--holder", take_flags->holder, "This decision's holder id (default: 16 random hex digits)");
  take->add_option("--lease-ms", take_flags->slots.lease_ms,
                   "How long the grant reserves its slots: launching and registering must fit in it")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  take->add_option("--wait-ms", take_flags->slots.wait_ms,
                   "How long to keep deciding again while other decisions grant first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  take->add_option("--settle-ms", take_flags->slots.settle_ms,
                   "A retried decision counts again when its count is older than half of this (as release's)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_ttl_flag(take, *take_flags);
  take->add_flag("--json", take_flags->json, "Print one JSON object (see above)");
  take->callback([take_flags, &exit_code] { exit_code = run_take(*take_flags); });

  auto release_flags = std::make_shared<SlotsFlags>();
  CLI::App* release = slots->add_subcommand(
      "release",
      "Release the grant of --holder in one conditional UpdateItem: it becomes {--launched, now + --settle-ms}\n"
      "(removed when --launched is 0), so the next decisions count --launched on top of the count until the\n"
      "count shows them.\n"
      "\n"
      "Output: `released`, or `lost` when the grant was gone (it ran out and a later decision removed it, or it\n"
      "was released already; a warning on stderr: a decision may have counted without these launches); with\n"
      "--json {\"release\":...}.\n"
      "Exit status: 0 released or lost; 1 when the write failed; 2 on usage errors.");
  add_cache_flags(release, release_flags->cache, /*environment_required=*/true, CacheFlagSet::kTableOnly);
  add_key_flags(release, *release_flags);
  release->add_option("--holder", release_flags->holder, "The holder id rcc slots take printed")->required();
  release->add_option("--launched", release_flags->launched, "How many runners were launched under the grant")
      ->required()
      ->check(CLI::NonNegativeNumber);
  release->add_option("--settle-ms", release_flags->slots.settle_ms,
                       "How long the next decisions count --launched on top of the count")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  release->add_flag("--json", release_flags->json, "Print one JSON object (see above)");
  release->callback([release_flags, &exit_code] { exit_code = run_release(*release_flags); });
}

}  // namespace rcc::cli
