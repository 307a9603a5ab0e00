#!/bin/sh
# Builds the libFuzzer harnesses with clang 14 (ASan + UBSan) into build-fuzz/ and runs each one for
# SECONDS (default 30) on a copy of its seed corpus. Prints one line per harness; exits non-zero if any
# harness found a crash, leak, timeout, sanitizer report or property violation (its reproducer is
# kept in build-fuzz/artifacts/<harness>/).
#   fuzz/run.sh [SECONDS] [harness...]
set -eu
seconds=${1:-30}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${TASKSTEP_FUZZ_BUILD_DIR:-$src/build-fuzz}
harnesses=${*:-"fuzz_task_config fuzz_interpolate fuzz_redact fuzz_unpack"}

cc=$(command -v clang++-14 || command -v clang++)
mkdir -p "$build"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cc" \
  -DTASKSTEP_BUILD_FUZZERS=ON -DTASKSTEP_BUILD_TESTS=OFF -DTASKSTEP_BUILD_EXAMPLES=OFF \
  -DTASKSTEP_BUILD_BENCHMARKS=OFF -DTASKSTEP_INSTALL=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$build" -j"${TASKSTEP_FUZZ_JOBS:-1}" --target $harnesses

# The unpacker harness writes a small tree per input: a tmpfs makes it ~10x faster.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

# Inputs beyond these sizes add nothing the bounds do not already cover (depth 64, 1 MiB interpolation
# in the harness); a tar layer needs 512-byte blocks, so it gets more room.
max_len() { case $1 in fuzz_unpack) echo 65536 ;; fuzz_redact) echo 65536 ;; *) echo 4096 ;; esac; }

status=0
for h in $harnesses; do
  work="$build/corpus/$h"
  artifacts="$build/artifacts/$h"
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts"
  cp "$here/corpus/$h"/* "$work"/ 2>/dev/null || true
  log="$build/$h.log"
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$build/fuzz/$h" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len="$(max_len "$h")" \
       -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "$h: ok (${execs:-?} execs in ${seconds}s)"
  else
    status=1
    echo "$h: FAILED, see $log and $artifacts/"
    grep -m 5 -E 'ERROR|SUMMARY|violated|changed outside|removed outside|Timeout' "$log" | sed 's/^/  /' || true
  fi
done
exit $status
