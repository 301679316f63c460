#!/usr/bin/env bash
# Runs the TypeScript client's tests (npm test) for CTest. Exits 77 with a message when node or npm is
# missing (CTest reports the test as skipped), 1 with a message when the dependencies are not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "typescript_client_test: SKIPPED: $tool is not on PATH (scripts/setup.sh installs it)"
    exit 77
  fi
done
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ ! -x "$here/node_modules/.bin/tsc" ]; then
  echo "typescript_client_test: FAILED: the package's dependencies are not installed in $here/node_modules" \
       "(run scripts/setup.sh, or npm ci there)"
  exit 1
fi
cd "$here"
exec npm test --silent
