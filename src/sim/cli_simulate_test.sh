#!/usr/bin/env bash
# rcc simulate end to end: exit codes, --json members, --report files. Needs RCC (the binary).
set -euo pipefail
: "${RCC:?set RCC to the rcc binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

small=(--runners-per-day 2000 --hours 4 --no-progress)

# Bad flags: exit 2 with a message naming the flag.
for bad in "--runners-per-day 0" "--hours -1" "--drop-rate 2" "--store nosuch" "--no-such-flag" \
  "--strategies cache,bogus" "--slot-lease-ms 0" "--seed abc"; do
  set +e
  # shellcheck disable=SC2086
  "$RCC" simulate "${small[@]}" $bad >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  [[ $rc -eq 2 ]] || fail "'$bad' exited $rc, want 2"
  [[ -s "$tmp/err" ]] || fail "'$bad' printed no message"
done
grep -q -- "--seed" "$tmp/err" || fail "the message for --seed abc does not name the flag: $(cat "$tmp/err")"

# --help states the models and the prices.
"$RCC" simulate --help >"$tmp/help"
for needle in "DescribeInstances" "token bucket" "0.625" "0.125" "--ec2-per-instance-ms" "lognormal" \
  "--dynamo-min-ms" "--ec2-by-id-min-ms" "--tick-interval-s" "--lambda-retry-delay-s" "CounterFunction::handle" "--strategies" "take_slots" \
  "register_launches" "--slot-lease-ms" "--launch-s" "--register-table"; do
  grep -q -- "$needle" "$tmp/help" || fail "--help does not mention $needle"
done

# --json: the documented members, and the quiescence error is 0.
"$RCC" simulate "${small[@]}" --json >"$tmp/a.json"
python3 - "$tmp/a.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert isinstance(j["decisions"], int) and j["decisions"] > 0, j["decisions"]
for s in ("baseline", "cache", "register"):
    for m in ("ec2_calls", "over_max", "over_max_runners", "failed_decisions", "launched", "throttled"):
        assert isinstance(j[m][s], int), (m, s)
    for m in ("decision_latency_ms", "job_wait_ms"):
        for p in ("p50", "p99"):
            assert isinstance(j[m][s][p], (int, float)), (m, s, p)
for s in ("cache", "register"):
    assert j["count_error"][s]["final"] == 0, j["count_error"]
    assert isinstance(j["count_error"][s]["max"], int)
assert j["slots"]["register"]["registered"] > 0, j["slots"]
for o in ("ec2_by_id_min_ms", "dynamo_min_ms", "tick_interval_ms", "lambda_retries", "reconcile_grace_ms",
          "strategies", "launch_ms", "slot_lease_ms", "slot_settle_ms", "slot_wait_ms"):
    assert o in j["options"], o
assert j["options"]["strategies"] == ["baseline", "cache", "register"], j["options"]["strategies"]
PY

# --strategies picks the runs and their order.
"$RCC" simulate "${small[@]}" --strategies register,baseline --json >"$tmp/some.json"
python3 - "$tmp/some.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert list(j["ec2_calls"]) == ["baseline", "register"] or set(j["ec2_calls"]) == {"baseline", "register"}, j["ec2_calls"]
assert "cache" not in j["over_max"], j["over_max"]
assert j["options"]["strategies"] == ["register", "baseline"], j["options"]["strategies"]
PY

# Deterministic: the same seed prints the same JSON.
"$RCC" simulate "${small[@]}" --json >"$tmp/b.json"
cmp -s "$tmp/a.json" "$tmp/b.json" || fail "two runs with the same seed differ"

# The table and --report.
"$RCC" simulate "${small[@]}" --report "$tmp/report" >"$tmp/table"
grep -q "decision latency p99" "$tmp/table" || fail "no latency row in the table"
[[ $(grep -c "at quiescence.*error 0 " "$tmp/table") -eq 2 ]] || fail "quiescence error not 0: $(cat "$tmp/table")"
grep -q "register (slots)" "$tmp/table" || fail "no register column in the table"
[[ -s "$tmp/report/simulate.csv" && -s "$tmp/report/simulate.svg" && -s "$tmp/report/simulate.json" ]] ||
  fail "report files missing"
[[ $(wc -l <"$tmp/report/simulate.csv") -eq 241 ]] || fail "CSV should have a header and 240 minutes"
echo "cli_simulate_test: ok"
