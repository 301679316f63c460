#!/usr/bin/env bash
# Runs dynalite (npm, installed by scripts/setup.sh) on 127.0.0.1 for manual use of `rcc` against a local
# DynamoDB. The tests do not use this script: they start dynalite themselves (src/testing/dynalite.h).
#
#   scripts/dynalite.sh [--port N]                 run in the foreground until Ctrl-C
#   scripts/dynalite.sh [--port N] -- CMD ARGS...  run CMD with AWS_ENDPOINT_URL_DYNAMODB and fake
#                                                  credentials set, then stop dynalite; exit with CMD's status
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cli="$here/node/node_modules/dynalite/cli.js"
[ -f "$cli" ] || { echo "dynalite.sh: $cli is missing; run scripts/setup.sh" >&2; exit 2; }

port=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dynalite.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$port" ]; then
  # A port the kernel hands out now; dynalite's own --port 0 means its default 4567.
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
fi

if [ $# -eq 0 ]; then
  exec node "$cli" --host 127.0.0.1 --port "$port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0
fi

log=$(mktemp)
node "$cli" --host 127.0.0.1 --port "$port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 > "$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q listening "$log" && break
  kill -0 "$pid" 2>/dev/null || { echo "dynalite.sh: dynalite exited: $(cat "$log")" >&2; exit 1; }
  sleep 0.1
done
grep -q listening "$log" || { echo "dynalite.sh: dynalite did not start within 10 s" >&2; exit 1; }
echo "dynalite.sh: dynalite at http://127.0.0.1:$port" >&2
set +e
AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-fake}" \
  AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-fake}" AWS_REGION="${AWS_REGION:-us-east-1}" "$@"
status=$?
exit $status
