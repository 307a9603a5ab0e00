#!/usr/bin/env bash
# Builds the benchmarks (if needed), runs them all, and prints one markdown table of ratios: every
# figure against its baseline measured in the same run (medians of $REPS repetitions, interleaved
# at random so that drifting machine load hits figure and baseline alike).
#
# Usage: benchmarks/run_all.sh [--quick] [--no-compile]
#   --quick       smoke mode: one short repetition each, 16 MiB big file, compile times at -O0 only
#   --no-compile  skip compile_time.sh (it takes a few minutes)
# Environment: BUILD_DIR (default <repo>/build-bench), REPS (default 5), MIN_TIME (default 0.2 s),
#   TASKSTEP_BENCH_BIG_FILE_MIB (default 1024), COMPILE_RUNS / COMPILE_OPTS (see compile_time.sh).
# Raw results (Google Benchmark JSON, compile.tsv, sizes.tsv, table.md) go to $BUILD_DIR/bench-results.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.2}
compile=1
export TASKSTEP_BENCH_BIG_FILE_MIB=${TASKSTEP_BENCH_BIG_FILE_MIB:-1024}
for arg in "$@"; do
  case $arg in
    --quick)
      reps=1
      min_time=0.01
      export TASKSTEP_BENCH_BIG_FILE_MIB=16
      export COMPILE_RUNS=1 COMPILE_OPTS=-O0
      ;;
    --no-compile) compile=0 ;;
    *) echo "usage: $0 [--quick] [--no-compile]" >&2; exit 2 ;;
  esac
done

benches=(step_bench config_bench vars_bench placement_bench local_run_bench staging_bench container_run_bench)

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTASKSTEP_BUILD_TESTS=OFF \
    -DTASKSTEP_BUILD_BENCHMARKS=ON >/dev/null
fi
cmake --build "$build" -j "${JOBS:-1}" --target "${benches[@]}" embedded_example embedded_baseline spawn_true \
  taskstep_cli >&2

out="$build/bench-results"
rm -rf "$out"
mkdir -p "$out"

{
  echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
  echo "Load at start: $(cut -d' ' -f1-3 /proc/loadavg); repetitions: $reps; min time: ${min_time}s; big file: ${TASKSTEP_BENCH_BIG_FILE_MIB} MiB; euid: $(id -u)"
} >"$out/machine.txt"

for b in "${benches[@]}"; do
  echo "running $b (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$build/benchmarks/$b" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
    --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/$b.json" --benchmark_out_format=json >"$out/$b.txt" 2>&1 || {
    echo "$b failed; see $out/$b.txt" >&2
    exit 1
  }
done

# Whole processes: the taskstep command against posix_spawn, runc run, and itself at growing sizes.
echo "running whole_process.py (load $(cut -d' ' -f1 /proc/loadavg))" >&2
quick_flag=()
((reps == 1)) && quick_flag=(--quick)
python3 "$here/whole_process.py" "$build/bin/taskstep" "$build/benchmarks/spawn_true" "$out/whole_process.json" \
  "${quick_flag[@]}" >"$out/whole_process.txt" 2>&1 || {
  echo "whole_process.py failed; see $out/whole_process.txt" >&2
  exit 1
}

# Binary size of the embedded example (-Os -fno-rtti) and of the spawn-only program.
: >"$out/sizes.tsv"
for exe in embedded_example embedded_baseline; do
  f="$build/benchmarks/$exe"
  strip -o "$out/$exe.stripped" "$f"
  printf '%s\tfile\t%s\n' "$exe" "$(stat -c %s "$f")" >>"$out/sizes.tsv"
  printf '%s\tstripped\t%s\n' "$exe" "$(stat -c %s "$out/$exe.stripped")" >>"$out/sizes.tsv"
  printf '%s\ttext\t%s\n' "$exe" "$(size -A "$f" | awk '$1 == ".text" {print $2}')" >>"$out/sizes.tsv"
done

if ((compile)); then
  echo "running compile_time.sh (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$here/compile_time.sh" "$out/compile.tsv" >"$out/compile.md"
fi
echo "Load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

{
  cat "$out/machine.txt"
  echo
  python3 "$here/report.py" "$out"
} | tee "$out/table.md"
