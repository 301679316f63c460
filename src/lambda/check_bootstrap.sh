#!/usr/bin/env bash
# Checks that a Lambda package (a zip holding exactly one executable `bootstrap`) or a bare binary loads on
# Amazon Linux 2023 (glibc 2.34) for the given architecture:
#   - an ELF executable of that machine, stripped, with the standard dynamic loader;
#   - needs only libc.so.6, libm.so.6, libgcc_s.so.1 and the loader;
#   - no GLIBC_ symbol version newer than 2.34, no GLIBCXX_/CXXABI_ version (libstdc++ linked statically);
#   - the function only: none of the simulator (its SVG report), the rcc command list or CLI11 is linked in.
# Usage: check_bootstrap.sh [--contents-only] x86_64|arm64 <zip or binary>. Exits 1 and names every violation.
# --contents-only checks the last point only (for the development build's dynamically linked bootstrap).
set -euo pipefail

contents_only=0
if [ "${1:-}" = "--contents-only" ]; then
  contents_only=1
  shift
fi
arch=${1:-}
input=${2:-}
case "$arch" in
  x86_64) machine="Advanced Micro Devices X86-64"; loader="ld-linux-x86-64.so.2"; interp="/lib64/ld-linux-x86-64.so.2" ;;
  arm64) machine="AArch64"; loader="ld-linux-aarch64.so.1"; interp="/lib/ld-linux-aarch64.so.1" ;;
  *) echo "usage: $0 [--contents-only] x86_64|arm64 <zip or binary>" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $input: $*"; failures=$((failures + 1)); }

binary=$input
if [[ "$input" == *.zip ]]; then
  entries=$(unzip -Z1 "$input")
  [ "$entries" = "bootstrap" ] || fail "the zip must hold exactly one entry 'bootstrap', holds: $(echo $entries)"
  mode=$(unzip -Z "$input" bootstrap | awk '{print $1}')
  [[ "$mode" == -rwx* ]] || fail "bootstrap is not executable in the zip (mode $mode)"
  unzip -q "$input" bootstrap -d "$tmp"
  binary="$tmp/bootstrap"
fi

# String constants survive stripping: one marker each of the simulator's SVG template and report, rcc's
# command list and CLI11's help.
strings -a "$binary" >"$tmp/strings"
for marker in '<svg' 'stroke-dasharray' 'Simulate a fleet day' 'Print this help message and exit'; do
  if grep -qF -- "$marker" "$tmp/strings"; then
    fail "carries '$marker': the simulator or the rcc command line is linked in"
  fi
done
if [ "$contents_only" -eq 1 ]; then
  [ "$failures" -eq 0 ] || exit 1
  echo "ok: $input: the function only"
  exit 0
fi

header=$(readelf -h "$binary")
grep -q "Machine:.*$machine" <<<"$header" || fail "not a $arch executable: $(grep Machine: <<<"$header")"
grep -Eq "Type:.*(EXEC|DYN)" <<<"$header" || fail "not an executable"
readelf -l "$binary" | grep -q "Requesting program interpreter: $interp" || fail "interpreter is not $interp"
if readelf -S "$binary" | grep -q '\.symtab'; then fail "not stripped (.symtab present)"; fi

allowed=" libc.so.6 libm.so.6 libgcc_s.so.1 $loader "
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $needed; do
  [[ "$allowed" == *" $lib "* ]] || fail "needs $lib (allowed:$allowed)"
done

# Version references (what the loader demands), then the symbols behind any bad one.
versions=$(objdump -p "$binary" | awk '/^Version References:/{on=1; next} on && /^$/{on=0} on' | grep -Eo '(GLIBC|GLIBCXX|CXXABI)_[0-9.]+' | sort -u || true)
for v in $versions; do
  case "$v" in
    GLIBCXX_*|CXXABI_*) fail "requires $v (libstdc++ must be linked statically)" ;;
    GLIBC_*)
      ver=${v#GLIBC_}
      if [ "$(printf '%s\n%s\n' "$ver" "2.34" | sort -V | tail -n1)" != "2.34" ]; then
        syms=$(objdump -T "$binary" | grep -F "$v" | awk '{print $NF}' | tr '\n' ' ')
        fail "requires $v > 2.34 (symbols: $syms)"
      fi
      ;;
  esac
done

if [ "$failures" -gt 0 ]; then
  exit 1
fi
echo "ok: $input ($arch): needs [$(echo $needed)], versions [$(echo $versions)]"
