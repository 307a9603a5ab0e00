#!/bin/sh
# Starts one long libFuzzer run in the background, detached (setsid nohup) and at nice 19, in DIR:
# DIR/bin (a copy of the harness, so rebuilding build-fuzz/ does not touch a running binary),
# DIR/corpus (the seed corpus, grown by the run), DIR/art (reproducers), DIR/log, DIR/pid.
#   fuzz/long_run.sh HARNESS DIR [RUNS]   (after fuzz/run.sh has built build-fuzz/; RUNS: 10000000)
set -eu
h=$1
dir=$2
runs=${3:-10000000}
here=$(cd "$(dirname "$0")" && pwd)
build=${TASKSTEP_FUZZ_BUILD_DIR:-$(dirname "$here")/build-fuzz}
case $h in fuzz_unpack | fuzz_redact) max_len=65536 ;; *) max_len=4096 ;; esac
mkdir -p "$dir/bin" "$dir/corpus" "$dir/art"
cp "$build/fuzz/$h" "$dir/bin/$h"
cp "$here/corpus/$h"/* "$dir/corpus/" 2>/dev/null || true
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
cd "$dir"
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  setsid nohup nice -n 19 "bin/$h" -runs="$runs" -timeout=60 -rss_limit_mb=2048 -max_len="$max_len" \
  -print_final_stats=1 -artifact_prefix=art/ corpus >log 2>&1 </dev/null &
echo $! >pid
echo "$h: started, pid $(cat pid), log $dir/log"
