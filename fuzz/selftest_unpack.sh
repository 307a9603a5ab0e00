#!/bin/sh
# Checks that fuzz_unpack's property check catches writes outside the root that change neither content
# nor size (a touch, a chmod to the same mode, a hard link, a new file, a rename, the layer truncated,
# the scratch directory chmodded): builds the harness with TASKSTEP_FUZZ_UNPACK_SELFTEST, where the
# first input byte makes it escape after unpacking, and expects a trap for each; byte '0' must pass.
#   fuzz/selftest_unpack.sh   (after fuzz/run.sh has configured build-fuzz/)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${TASKSTEP_FUZZ_BUILD_DIR:-$src/build-fuzz}
out=$build/selftest
mkdir -p "$out"
cc=$(command -v clang++-14 || command -v clang++)
flags="-O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c++20"
# shellcheck disable=SC2086
"$cc" $flags -DTASKSTEP_FUZZ_UNPACK_SELFTEST -DFMT_SHARED -I"$src/include" "$here/fuzz_unpack.cpp" \
  -o "$out/fuzz_unpack_selftest" -lyaml -lfmt -larchive
status=0
for b in 0 1 2 3 4 5 6 7; do
  printf '%s' "$b" >"$out/input-$b"
  if TMPDIR=${TMPDIR:-/dev/shm} "$out/fuzz_unpack_selftest" "$out/input-$b" >"$out/log-$b" 2>&1; then r=pass; else r=trap; fi
  want=trap; [ "$b" = 0 ] && want=pass
  if [ "$r" = "$want" ]; then echo "escape $b: $r (expected)"; else echo "escape $b: $r, expected $want"; status=1; fi
done
exit $status
