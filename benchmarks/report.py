#!/usr/bin/env python3
"""Turns the JSON files of one run_all.sh run into one markdown table of ratios.

Every figure is divided by a baseline measured in the same run (median of the repetitions, wall
time). Usage: report.py RESULTS_DIR  (reads <bench>.json, compile.tsv and sizes.tsv there).
"""
import json
import os
import sys

results_dir = sys.argv[1]
medians = {}  # (bench, run name) -> median real time in ns
rates = {}    # (bench, run name) -> bytes_per_second (median)
errors = {}   # (bench, run name) -> error message
context = {}

UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

for bench in ("step_bench", "config_bench", "vars_bench", "placement_bench", "local_run_bench", "staging_bench",
              "container_run_bench", "whole_process"):
    path = os.path.join(results_dir, bench + ".json")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        data = json.load(f)
    context = data.get("context", context)
    single = {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        if b.get("error_occurred"):
            errors[(bench, name)] = b.get("error_message", "error")
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
        else:
            single.setdefault((bench, name), []).append(b)
            continue
        medians[(bench, name)] = b["real_time"] * UNIT[b["time_unit"]]
        if "bytes_per_second" in b:
            rates[(bench, name)] = b["bytes_per_second"]
    for key, runs in single.items():  # one repetition: no aggregates
        if key not in medians:
            runs.sort(key=lambda r: r["real_time"])
            r = runs[len(runs) // 2]
            medians[key] = r["real_time"] * UNIT[r["time_unit"]]
            if "bytes_per_second" in r:
                rates[key] = r["bytes_per_second"]


def t(bench, name):
    return medians.get((bench, name))


def fmt_time(ns):
    if ns is None:
        return "n/a"
    if ns >= 1e9:
        return "%.2f s" % (ns / 1e9)
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.1f µs" % (ns / 1e3)
    return "%.0f ns" % ns


def fmt_rate(bench, name):
    r = rates.get((bench, name))
    return "n/a" if r is None else "%.1f MB/s" % (r / 1e6)


def why_missing(bench, name):
    e = errors.get((bench, name))
    return e if e else "not run"


rows = []


def row(area, figure, bench, name, base_name, target=None, check=None, show=fmt_time, base_bench=None):
    a = t(bench, name)
    b = t(base_bench or bench, base_name)
    if a is None or b is None:
        missing = name if a is None else base_name
        rows.append((area, figure, "n/a", "n/a", "n/a", target or "—", why_missing(base_bench or bench if b is None else bench, missing)))
        return
    ratio = a / b
    verdict = "—"
    if check is not None:
        verdict = "met" if check(ratio, a) else "**missed**"
    va = show(bench, name) if show is not fmt_time else fmt_time(a)
    vb = show(base_bench or bench, base_name) if show is not fmt_time else fmt_time(b)
    rows.append((area, figure, va, vb, ("%.2f×" if ratio >= 0.1 else "%.4f×") % ratio, target or "—", verdict))


# 1. Step machinery.
row("1 step", "basic_task_step vs hand_same_calls", "step_bench", "basic_task_step", "hand_same_calls",
    "≤ 1.05×", lambda r, a: r <= 1.05)
row("1 step", "basic_task_step vs hand_direct", "step_bench", "basic_task_step", "hand_direct")
row("1 step", "virtual_twin vs basic_task_step", "step_bench", "virtual_twin", "basic_task_step",
    "visibly slower (≥ 1.10×)", lambda r, a: r >= 1.10)

# 2. Config pipeline.
have_yaml_cpp = any(k[1].startswith("yaml_cpp_load") for k in medians)
for size, label in ((0, "small"), (1, "typical"), (2, "large")):
    if have_yaml_cpp:
        row("2 config", "pipeline vs yaml-cpp Load, %s" % label, "config_bench", "pipeline/size:%d" % size,
            "yaml_cpp_load/size:%d" % size, "≤ 1.3×", lambda r, a: r <= 1.3)
    row("2 config", "pipeline vs libyaml events, %s" % label, "config_bench", "pipeline/size:%d" % size,
        "libyaml_events/size:%d" % size)

# 3. Interpolation and redaction (throughput shown; ratio = time ratio).
for shape, label in ((1, "40 maps × 100 keys"), (0, "1 map × 4,000 keys")):
    row("3 vars", "evaluate vs hand_substitute, %s" % label, "vars_bench", "evaluate/shape:%d" % shape,
        "hand_substitute/shape:%d" % shape, show=fmt_rate)
for n in (10, 100, 1000):
    row("3 vars", "redactor vs find_replace, 1 MiB log, %d secrets" % n, "vars_bench", "redactor/secrets:%d" % n,
        "find_replace/secrets:%d" % n, show=fmt_rate)
for n in (100, 1000):
    row("3 vars", "redactor, %d secrets vs 10 (independent of the number of secrets)" % n, "vars_bench",
        "redactor/secrets:%d" % n, "redactor/secrets:10", "≤ 1.5×", lambda r, a: r <= 1.5, show=fmt_rate)

# 4. Placement: time per decision at 10,000 workers vs the filter pass alone, and linearity.
for s in ("first_fit", "random_placement", "fewest_build_containers", "limit_active_tasks", "volume_locality",
          "volume_then_fewest"):
    row("4 placement", "%s, 10,000 workers vs satisfying alone" % s, "placement_bench", "%s/workers:10000" % s,
        "satisfying/workers:10000", "< 50 µs", lambda r, a: a < 50e3)
    small, big = t("placement_bench", "%s/workers:100" % s), t("placement_bench", "%s/workers:10000" % s)
    if small and big:
        growth = (big / 10000) / (small / 100)
        rows.append(("4 placement", "%s: per-worker cost at 10,000 vs at 100" % s, "%.1f ns" % (big / 10000),
                     "%.1f ns" % (small / 100), "%.2f×" % growth, "linear (≤ 1.5×)",
                     "met" if growth <= 1.5 else "**missed**"))
row("4 placement", "hand_fewest (hand loop), 10,000 workers vs satisfying", "placement_bench", "hand_fewest/workers:10000",
    "satisfying/workers:10000", "< 50 µs", lambda r, a: a < 50e3)

# 5. Local run of /bin/true.
for c, m, label in ((1, 0, "as root: cgroups on, runs under /tmp (defaults)"), (0, 0, "no cgroups, /tmp"),
                    (1, 1, "cgroups on, runs under /dev/shm"), (0, 1, "no cgroups, /dev/shm")):
    row("5 local run", "step + local worker vs posix_spawn, %s" % label, "local_run_bench",
        "step_local/cgroups:%d/tmpfs:%d" % (c, m), "raw_spawn", "≤ 1.25×", lambda r, a: r <= 1.25)
for c, m in ((1, 0), (0, 1)):
    row("5 local run", "step vs the worker alone (cgroups:%d, tmpfs:%d)" % (c, m), "local_run_bench",
        "step_local/cgroups:%d/tmpfs:%d" % (c, m), "worker_run/cgroups:%d/tmpfs:%d" % (c, m))
row("5 local run", "posix_spawn with pipes + poll vs posix_spawn", "local_run_bench", "raw_spawn_pipes", "raw_spawn")

# 6. Staging.
big_mib = os.environ.get("TASKSTEP_BENCH_BIG_FILE_MIB", "16")
for arg, label in (("10000", "10,000 files of 4 KiB"), ("0", "one %s MiB file" % big_mib)):
    row("6 staging", "copy_tree vs cp -a, %s" % label, "staging_bench", "copy_tree/files:%s" % arg, "cp_a/files:%s" % arg)
    row("6 staging", "overlay mount vs cp -a, %s" % label, "staging_bench", "overlay/files:%s" % arg, "cp_a/files:%s" % arg)

# 7. Containers.
for u, m, label in ((0, 0, "no user namespace, runs under /tmp"), (1, 0, "user namespace (default), /tmp"),
                    (0, 1, "no user namespace, runs under /dev/shm"), (1, 1, "user namespace, /dev/shm")):
    row("7 container", "oci_runc `true` vs runc run of a ready bundle, %s" % label, "container_run_bench",
        "worker_run/userns:%d/tmpfs:%d" % (u, m), "raw_runc", "≤ 1.1×", lambda r, a: r <= 1.1)

# 9. Whole processes (whole_process.py): spawn to exit, start-up included.
W = "whole_process"
row("9 process", "`taskstep execute` of /bin/true (local) vs a posix_spawn program", W, "cmd_true", "spawn_true",
    "≤ 3×", lambda r, a: r <= 3)
row("9 process", "`taskstep execute` of /bin/true, TMPDIR=/dev/shm (run root on tmpfs) vs posix_spawn", W,
    "cmd_true_tmpfs", "spawn_true", "≤ 3×", lambda r, a: r <= 3)
row("9 process", "`taskstep execute --worker oci` of `true` vs `runc run` of a ready bundle", W, "oci_true", "raw_runc",
    "≤ 1.25×", lambda r, a: r <= 1.25)
for n in (10, 100, 1000):
    row("9 process", "20 MB of output, %d credentials vs none" % n, W, "output/secrets:%d" % n, "output/secrets:0",
        "≤ 2×" if n == 100 else None, (lambda r, a: r <= 2) if n == 100 else None)
row("9 process", "20 MB of output, no credentials vs `cat` of it (posix_spawn program)", W, "output/secrets:0", "cat_log")
for n in (100, 1000, 10000):
    row("9 process", "`render`, %d params vs 10 params" % n, W, "render/params:%d" % n, "render/params:10")
a, b, base = t(W, "render/params:10000"), t(W, "render/params:1000"), t(W, "render/params:10")
if a and b and base and b > base:
    # Net of the 10-param run (start-up, parse of the rest): the growth itself, which should be linear.
    g = (a - base) / (10 * (b - base))
    rows.append(("9 process", "`render`, 10,000 params vs 10 × 1,000 params, each net of the 10-param run",
                 fmt_time(a - base), "10 × " + fmt_time(b - base), "%.2f×" % g, "≤ 1.5× (linear)",
                 "met" if g <= 1.5 else "**missed**"))
for n in (10, 100, 1000):
    row("9 process", "execute /bin/true with %d inputs vs 1 input" % n, W, "execute/inputs:%d" % n, "execute/inputs:1")
row("9 process", "execute with 1000 inputs, TMPDIR=/dev/shm vs /tmp (ext4)", W, "execute_tmpfs/inputs:1000",
    "execute/inputs:1000")

# 8. Compile time, memory and size.
compile_tsv = os.path.join(results_dir, "compile.tsv")
if os.path.exists(compile_tsv):
    ct = {}
    with open(compile_tsv) as f:
        for line in f:
            name, opt, secs, mib = line.rstrip("\n").split("\t")
            ct[(name, opt)] = (float(secs), float(mib))
    opts = sorted({o for _, o in ct})
    for opt in opts:
        base = ct.get(("baseline_std", opt))
        for name, limit_s, limit_mib in (("core_only", 3.0, None), ("config_pipeline", None, None),
                                         ("full_step", 15.0, 1536.0), ("cli_main", 15.0, 1536.0),
                                         ("cli_execute", 15.0, 1024.0), ("cli_local", 15.0, 1024.0),
                                         ("cli_oci", 15.0, 1024.0), ("cli_slurm", 15.0, 1024.0)):
            if (name, opt) not in ct or base is None:
                continue
            secs, mib = ct[(name, opt)]
            target, ok = "—", None
            if limit_s is not None:
                target = "≤ %.0f s" % limit_s + ((" and ≤ %.1f GB" % (limit_mib / 1024)) if limit_mib else "")
                ok = secs <= limit_s and (limit_mib is None or mib <= limit_mib)
            rows.append(("8 compile", "%s %s (time, peak RSS) vs baseline_std" % (name, opt),
                         "%.1f s, %.0f MiB" % (secs, mib), "%.1f s, %.0f MiB" % base, "%.1f×" % (secs / base[0]),
                         target, "—" if ok is None else ("met" if ok else "**missed**")))
sizes_tsv = os.path.join(results_dir, "sizes.tsv")
if os.path.exists(sizes_tsv):
    sz = {}
    with open(sizes_tsv) as f:
        for line in f:
            name, kind, n = line.rstrip("\n").split("\t")
            sz[(name, kind)] = int(n)
    for kind, label in (("file", "file size"), ("stripped", "stripped"), ("text", "text segment")):
        a, b = sz.get(("embedded_example", kind)), sz.get(("embedded_baseline", kind))
        if a and b:
            rows.append(("8 size", "embedded_example -Os -fno-rtti vs spawn-only program, %s" % label,
                         "%.1f KiB" % (a / 1024), "%.1f KiB" % (b / 1024), "%.1f×" % (a / b), "—", "—"))

print("| area | figure | measured | baseline | ratio (time ÷ baseline time) | target | verdict |")
print("|---|---|---:|---:|---:|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
