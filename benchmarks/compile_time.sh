#!/usr/bin/env bash
# Compile time and peak memory of the TUs the issue names, measured with /usr/bin/time -v on the
# compiler itself (one TU per compiler process, output to /dev/null, same flags as the CMake build):
#   baseline_std     benchmarks/compile/baseline_std.cpp: the standard headers the library uses, no taskstep
#   core_only        benchmarks/compile/core_only.cpp: every core/ header
#   config_pipeline  benchmarks/compile/config_pipeline.cpp: yaml + config pipeline
#   full_step        benchmarks/compile/full_step.cpp: basic_task_step with a real policy of every kind
#   cli_main         examples/taskstep/main.cpp           } the `taskstep` command: flags, config, printing
#   cli_execute      examples/taskstep/execute.cpp        }   (CLI11 + nlohmann)
#   cli_local        examples/taskstep/execute_local.cpp  } one worker per TU: the step instantiated with it
#   cli_oci          examples/taskstep/execute_oci.cpp    }   (oci and slurm: the containers module)
#   cli_slurm        examples/taskstep/execute_slurm.cpp  }
# ONLY="name ..." measures only those TUs (baseline_std is always measured first).
# Each TU is compiled $COMPILE_RUNS times (default 2) at each of $COMPILE_OPTS (default "-O0 -O3");
# the table shows the fastest wall time (least disturbed by other load) and the largest peak RSS.
#
# Usage: benchmarks/compile_time.sh [TSV_OUT]   (CXX=clang++ to measure another compiler)
# Prints a markdown table; with TSV_OUT also writes "name<TAB>opt<TAB>seconds<TAB>MiB" lines.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cxx=${CXX:-g++}
runs=${COMPILE_RUNS:-2}
opts=${COMPILE_OPTS:-"-O0 -O3"}
tsv_out=${1:-}

if [[ ! -x /usr/bin/time ]]; then
  echo "compile_time.sh: /usr/bin/time is missing (apt-get install time)" >&2
  exit 1
fi

tus=(
  "baseline_std:$here/compile/baseline_std.cpp"
  "core_only:$here/compile/core_only.cpp"
  "config_pipeline:$here/compile/config_pipeline.cpp"
  "full_step:$here/compile/full_step.cpp"
  "cli_main:$root/examples/taskstep/main.cpp"
  "cli_execute:$root/examples/taskstep/execute.cpp"
  "cli_local:$root/examples/taskstep/execute_local.cpp"
  "cli_oci:$root/examples/taskstep/execute_oci.cpp"
  "cli_slurm:$root/examples/taskstep/execute_slurm.cpp"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[[ -n "$tsv_out" ]] && : >"$tsv_out"

echo "Compiler: $($cxx --version | head -1); flags: -std=c++20 <opt> -DNDEBUG; $runs run(s) each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| TU | opt | wall s (best) | peak RSS MiB | × baseline_std time |"
echo "|---|---|---:|---:|---:|"
for opt in $opts; do
  base_s=""
  for entry in "${tus[@]}"; do
    name=${entry%%:*}
    src=${entry#*:}
    if [[ -n "${ONLY:-}" && "$name" != baseline_std && " $ONLY " != *" $name "* ]]; then continue; fi
    best=""
    rss=0
    for ((i = 0; i < runs; i++)); do
      /usr/bin/time -v -o "$tmp/time.txt" "$cxx" -std=c++20 $opt -DNDEBUG -DBOOST_ALL_NO_LIB \
        -I"$root/include" -I"$here" -Wall -Wextra -Wpedantic -c "$src" -o /dev/null 2>"$tmp/err.txt" || {
        echo "compile_time.sh: $name failed:" >&2
        cat "$tmp/err.txt" >&2
        exit 1
      }
      wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time.txt" |
        awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
      kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
      if [[ -z "$best" ]] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$wall; fi
      ((kb > rss)) && rss=$kb
    done
    mib=$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')
    [[ -z "$base_s" ]] && base_s=$best
    ratio=$(awk -v a="$best" -v b="$base_s" 'BEGIN {printf "%.1f", a / b}')
    echo "| $name | $opt | $best | $mib | $ratio |"
    [[ -n "$tsv_out" ]] && printf '%s\t%s\t%s\t%s\n' "$name" "$opt" "$best" "$mib" >>"$tsv_out"
  done
done
