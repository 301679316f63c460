#!/usr/bin/env bash
# Regenerates the simulator's sensitivity table (docs/simulator.md, README): the three strategies of
# `rcc simulate` on the default day and under a scarce EC2 bucket and a fast, flat DescribeInstances.
# Usage: bash scripts/sensitivity.sh [--short] [RCC]   (RCC defaults to build/rcc; --short: README columns)
# Prints a Markdown table on stdout; each scenario is one `rcc simulate --json` run with the flags shown.
set -euo pipefail
short=0
if [[ "${1:-}" == "--short" ]]; then
  short=1
  shift
fi
rcc=${1:-build/rcc}
[[ -x "$rcc" ]] || { echo "sensitivity.sh: $rcc is not an executable (build it, or pass the rcc binary)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scenarios=(
  ""
  "--ec2-refill-per-s 1"
  "--ec2-refill-per-s 0.2"
  "--ec2-base-ms 800 --ec2-per-instance-ms 0 --ec2-per-result-ms 0"
)
for i in "${!scenarios[@]}"; do
  # shellcheck disable=SC2086
  "$rcc" simulate --no-progress --json ${scenarios[$i]} >"$tmp/$i.json"
done

python3 - "$tmp" "$short" "${scenarios[@]}" <<'PY'
import json, sys

tmp, short, scenarios = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]

def n(x):
    return f"{x:,}"

def ms(x):
    if x < 1000:
        return f"{x:.0f} ms"
    if x < 600000:
        return f"{x / 1000:.1f} s"
    return f"{x / 60000:.1f} min"

if short:
    head = ["scenario", "strategy", "EC2 requests", "throttled", "decision p99", "job wait p99",
            "over max (runners)", "dead-lettered", "count error p99"]
else:
    head = ["scenario", "strategy", "EC2 requests", "of which by id", "throttled", "EC2 busy", "decision p50",
            "decision p99", "job wait p50", "job wait p99", "over max (runners)", "from table",
            "failed decisions", "dead-lettered", "count error p99 / max", "final error"]
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" for _ in head) + "|")
for i, flags in enumerate(scenarios):
    j = json.load(open(f"{tmp}/{i}.json"))
    for s in j["options"]["strategies"]:
        table = s in j["count_error"]
        err = j["count_error"].get(s, {})
        dead = j["counter"][s]["dead_lettered"] if table else None
        row = [f"`{flags}`" if flags else "default day", s, n(j["ec2_calls"][s])]
        if not short:
            row.append(n(j["ec2_by_id_calls"][s]))
        row.append(n(j["throttled"][s]))
        if not short:
            row += [f"{n(int(j['ec2_busy_s'][s]))} s", ms(j["decision_latency_ms"][s]["p50"])]
        row.append(ms(j["decision_latency_ms"][s]["p99"]))
        if not short:
            row.append(ms(j["job_wait_ms"][s]["p50"]))
        row.append(ms(j["job_wait_ms"][s]["p99"]))
        row.append(f"{n(j['over_max'][s])} ({n(j['over_max_runners'][s])})")
        if not short:
            row += [n(j["over_max_from_cache"][s]), n(j["failed_decisions"][s])]
        row.append(n(dead) if table else "-")
        if short:
            row.append(n(err["p99"]) if table else "-")
        else:
            row.append(f"{n(err['p99'])} / {n(err['max'])}" if table else "-")
            row.append(n(err["final"]) if table else "-")
        print("| " + " | ".join(row) + " |")
PY
