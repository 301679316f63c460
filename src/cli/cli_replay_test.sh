#!/usr/bin/env bash
# rcc replay end to end: counts on the sample trace, malformed lines, --strict, stdin, usage errors.
set -euo pipefail
: "${RCC:?path of the rcc binary}" "${RCC_SOURCE_DIR:?repository root}"
trace="$RCC_SOURCE_DIR/examples/fleet-trace"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
json_equal() {  # json_equal FILE_A FILE_B MEMBER_OF_A
  node -e '
    const fs = require("fs");
    const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const b = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    const sort = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
    process.exit(sort(process.argv[3] ? a[process.argv[3]] : a) === sort(b) ? 0 : 1);
  ' "$@"
}

# 1. The sample trace reproduces its ground truth.
"$RCC" replay --environment prod --inventory "$trace/inventory.json" --events "$trace/events.jsonl" --json \
  > "$work/out.json"
json_equal "$work/out.json" "$trace/expected-counts.json" counts || fail "counts differ: $(cat "$work/out.json")"

# 2. The same from stdin, and the text output shows the total.
"$RCC" replay --environment prod --inventory "$trace/inventory.json" --events - < "$trace/events.jsonl" \
  > "$work/out.txt"
grep -Eq '^total +17$' "$work/out.txt" || fail "text output lacks the total: $(tail -3 "$work/out.txt")"

# 3. Malformed lines are reported with their line number and skipped; counts are unaffected.
{ head -n 10 "$trace/events.jsonl"; echo '{"not": "an event"'; echo '{"source":"aws.s3","detail-type":"x"}';
  tail -n +11 "$trace/events.jsonl"; } > "$work/bad.jsonl"
"$RCC" replay --environment prod --inventory "$trace/inventory.json" --events "$work/bad.jsonl" --json \
  > "$work/bad.json" 2> "$work/bad.err" || fail "malformed lines must not fail the run without --strict"
grep -q "bad.jsonl:11: skipped: event: not valid JSON" "$work/bad.err" || fail "line 11 not reported: $(cat "$work/bad.err")"
grep -q "bad.jsonl:12: skipped: source/detail-type: foreign event" "$work/bad.err" || fail "line 12 not reported"
json_equal "$work/bad.json" "$trace/expected-counts.json" counts || fail "malformed lines changed the counts"
node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1])); process.exit(o.rejected === 2 ? 0 : 1)' \
  "$work/bad.json" || fail "rejected should be 2: $(cat "$work/bad.json")"

# 4. --strict turns them into exit status 1.
set +e
"$RCC" replay --environment prod --inventory "$trace/inventory.json" --events "$work/bad.jsonl" --strict \
  > /dev/null 2> "$work/strict.err"
status=$?
set -e
[ "$status" -eq 1 ] || fail "--strict should exit 1, got $status"
grep -q -- "--strict: 2 rejected" "$work/strict.err" || fail "--strict message missing: $(cat "$work/strict.err")"

# 5. Usage errors exit 2 with a message.
expect_usage_error() {
  set +e
  "$RCC" "$@" > /dev/null 2> "$work/usage.err"
  local status=$?
  set -e
  [ "$status" -eq 2 ] || fail "rcc $* should exit 2, got $status"
  [ -s "$work/usage.err" ] || fail "rcc $* printed no message"
}
expect_usage_error replay --inventory "$trace/inventory.json" --events "$trace/events.jsonl"
expect_usage_error replay --environment prod --inventory /nonexistent.json --events "$trace/events.jsonl"
expect_usage_error replay --environment prod --inventory "$trace/inventory.json" --events /nonexistent.jsonl
expect_usage_error replay --environment prod --inventory "$trace/inventory.json" --events x --bogus
expect_usage_error replay --environment prod --inventory "$trace/events.jsonl" --events "$trace/events.jsonl"
expect_usage_error
expect_usage_error frobnicate

# 6. --help names every flag.
help=$("$RCC" replay --help)
for flag in --environment --inventory --events --ttl-seconds --json --strict; do
  grep -q -- "$flag" <<< "$help" || fail "replay --help lacks $flag"
done

# 7. rcc --help lists every command, one line each.
top_help=$("$RCC" --help)
for command in simulate replay count inspect reconcile handle table lambda; do
  grep -Eq "^  $command +[A-Z]" <<< "$top_help" || fail "rcc --help lacks a line for $command"
done

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "cli_replay_test: all checks passed"
