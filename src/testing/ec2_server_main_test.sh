#!/usr/bin/env bash
# ec2-test-server as a process: --help documents the control endpoints; --inventory and --port-file work;
# a signed-looking DescribeInstances is answered from the inventory, an unsigned one is rejected; the
# control interface changes the inventory; SIGTERM stops it cleanly with exit status 0.
# Usage: ec2_server_main_test.sh <path to ec2-test-server>
set -euo pipefail
server=$1
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$server" --help >"$work/help"
grep -q -- "--inventory" "$work/help" || fail "--help lacks --inventory"
grep -q "/_control/launch" "$work/help" || fail "--help lacks the control endpoints"

cat >"$work/inventory.json" <<'JSON'
{"instances":[
  {"instance_id":"i-0123456789abcdef0","state":"running","launch_time":"2024-01-01T00:00:00Z",
   "tags":{"ghr:Application":"github-action-runner","ghr:environment":"prod"}},
  {"instance_id":"i-12345678","state":"stopped"}
]}
JSON
"$server" --inventory "$work/inventory.json" --port 0 --port-file "$work/port" --burst 50 >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || fail "no port file; output: $(cat "$work/out")"
port=$(cat "$work/port")

# Plain HTTP/1.1 over bash's /dev/tcp, one request per connection.
request() {  # method path body [authorization]
  local auth=""
  if [ -n "${4:-}" ]; then auth="Authorization: $4"$'\r\n'; fi
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' \
    "$1" "$2" "$auth" "${#3}" "$3" >&3
  cat <&3
  exec 3<&-
}
auth="AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf 'a%.0s' $(seq 1 64))"

answer=$(request POST / "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0" "$auth")
grep -q "HTTP/1.1 200" <<<"$answer" || fail "describe by id: $answer"
grep -q "<instanceId>i-0123456789abcdef0</instanceId>" <<<"$answer" || fail "instance missing: $answer"

answer=$(request POST / "Action=DescribeInstances&Version=2016-11-15")
grep -q "HTTP/1.1 401" <<<"$answer" || fail "unsigned request accepted: $answer"
grep -q "<Code>AuthFailure</Code>" <<<"$answer" || fail "no AuthFailure: $answer"

answer=$(request POST /_control/remove '{"instance_id":"i-0123456789abcdef0"}')
grep -q "HTTP/1.1 200" <<<"$answer" || fail "control remove: $answer"
answer=$(request POST / "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0" "$auth")
grep -q "<Code>InvalidInstanceID.NotFound</Code>" <<<"$answer" || fail "removed instance still described: $answer"

answer=$(request GET /_control/stats "")
grep -q '"requests":3' <<<"$answer" || fail "stats: $answer"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM; output: $(cat "$work/out")"
grep -q "stopped on signal" "$work/out" || fail "no clean stop message: $(cat "$work/out")"
echo "ok"
