#!/usr/bin/env bash
# Installs everything the build, the tests and the simulator need on Debian bookworm: compilers, libraries,
# the arm64 cross toolchain, qemu-user, Clang with its sanitizer and libFuzzer runtimes (and llvm-symbolizer
# for their reports), ccache, the npm test tools (dynalite, @cdktf/hcl2json) and the TypeScript client's
# dependencies (clients/typescript).
# Idempotent and quiet: a second run installs nothing and prints one line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

packages=(
  build-essential cmake ninja-build pkg-config git zip unzip binutils file
  libboost1.74-dev libssl-dev nlohmann-json3-dev libpugixml-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev llvm ccache
  g++-aarch64-linux-gnu qemu-user
  nodejs npm
)
arm64_packages=(libssl-dev:arm64 libpugixml-dev:arm64 libc6:arm64)

missing=()
for p in "${packages[@]}" "${arm64_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# nodejs from another source provides node and npm without the Debian packages.
if command -v node >/dev/null && command -v npm >/dev/null; then
  kept=()
  for p in "${missing[@]}"; do case "$p" in nodejs|npm) ;; *) kept+=("$p") ;; esac; done
  missing=("${kept[@]+"${kept[@]}"}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$here/node/node_modules/.bin/dynalite" ] || [ ! -f "$here/node/node_modules/@cdktf/hcl2json/package.json" ] \
   || [ "$here/node/package-lock.json" -nt "$here/node/node_modules/.package-lock.json" ]; then
  echo "setup: installing npm test tools"
  (cd "$here/node" && npm ci --silent --no-audit --no-fund >/dev/null)
fi
client="$here/../clients/typescript"
if [ ! -x "$client/node_modules/.bin/tsc" ] || [ "$client/package-lock.json" -nt "$client/node_modules/.package-lock.json" ]; then
  echo "setup: installing the TypeScript client's dependencies"
  (cd "$client" && npm ci --silent --no-audit --no-fund >/dev/null)
fi
echo "setup: ready"
