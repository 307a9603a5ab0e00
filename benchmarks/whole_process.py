#!/usr/bin/env python3
"""Whole-process figures: the `taskstep` command as a user runs it, against the least any runner pays.

Every figure is the median wall time of one process (spawn to exit, start-up and exit included),
measured in rounds: each round runs every command of a group once, in a fresh random order, so a load
change on this shared machine hits figure and baseline alike. Groups:

  cmd_true      `taskstep execute --worker local` of a /bin/true task     vs  spawn_true (posix_spawn /bin/true)
                (and cmd_true_tmpfs: the same with TMPDIR=/dev/shm, the run root on tmpfs)
  oci_true      `taskstep execute --worker oci` of `true`, busybox image    vs  `runc run` of a ready bundle
  output        a task printing 20 MB (`cat`), with 0/10/100/1,000 credentials interpolated (redacted)
  render        `taskstep render` of a task with 10/100/1,000/10,000 params
  inputs        execute of /bin/true with 1/10/100/1,000 inputs (local, non-git directories; 1,000 also
                with TMPDIR=/dev/shm)

Usage: whole_process.py TASKSTEP SPAWN_TRUE OUT.json [--quick] [--only GROUP,...]
Writes OUT.json in Google Benchmark's shape (one median aggregate per name; report.py reads it) and
prints one line per name. A group that cannot run (no root, no runc, no busybox) is reported as an
error with its reason, never as a time.
"""
import json
import os
import random
import shutil
import statistics
import string
import sys
import tempfile
import time

taskstep, spawn_true, out_path = sys.argv[1:4]
quick = "--quick" in sys.argv
only = None
if "--only" in sys.argv:
    only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
scale = 0.2 if quick else 1.0

work = tempfile.mkdtemp(prefix="taskstep-bench-whole-")
errlog = os.path.join(work, "stderr.log")
results = {}  # name -> [ns]
errors = {}   # name -> message


def spawn(argv, env=None):
    """Wall time of one process in ns; stdin and stdout /dev/null, stderr to errlog."""
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 2, errlog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env or os.environ, file_actions=fa)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(status) != 0:
        with open(errlog, errors="replace") as f:
            raise RuntimeError("%s exited %d: %s" % (" ".join(argv[:4]), os.waitstatus_to_exitcode(status),
                                                    f.read()[-400:].strip()))
    return t1 - t0


def group(name, commands, rounds, warmup=1):
    """commands: {figure name: argv or callable(round) -> argv}. Interleaved rounds, random order."""
    if only and name not in only:
        return
    rounds = max(3, int(rounds * scale))
    try:
        for r in range(-warmup, rounds):
            order = list(commands.items())
            random.shuffle(order)
            for fig, argv in order:
                argv = argv(r) if callable(argv) else argv
                ns = spawn(*argv) if isinstance(argv, tuple) else spawn(argv)
                if r >= 0:
                    results.setdefault(fig, []).append(ns)
    except (RuntimeError, OSError) as e:
        for fig in commands:
            results.pop(fig, None)
            errors[fig] = " ".join(str(e).split())  # one line: report.py puts it in a table cell
    print("%s: done" % name, file=sys.stderr)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def alnum(rng, n):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


rng = random.Random(14)
ts = os.path.abspath(taskstep)

# 1. /bin/true through the command vs posix_spawn.
true_yml = os.path.join(work, "true.yml")
write(true_yml, "platform: linux\nrun: {path: /bin/true}\n")
# cmd_true_tmpfs: the same with TMPDIR=/dev/shm, i.e. the run root (and its rmdirs) on tmpfs.
shm = dict(os.environ, TMPDIR="/dev/shm")
group("cmd_true", {"cmd_true": [ts, "execute", "-c", true_yml, "--worker", "local"],
                   "cmd_true_tmpfs": ([ts, "execute", "-c", true_yml, "--worker", "local"], shm),
                   "spawn_true": [os.path.abspath(spawn_true)]}, 30)

# 2. `true` in a busybox image through the runc worker vs `runc run` of a ready bundle.
runc = shutil.which("runc")
why = None
if os.geteuid() != 0:
    why = "SKIPPED: containers need root"
elif not runc:
    why = "SKIPPED: runc is not installed"
elif not os.path.exists("/bin/busybox"):
    why = "SKIPPED: /bin/busybox (busybox-static) is missing"
if why:
    errors["oci_true"] = errors["raw_runc"] = why
else:
    image = os.path.join(work, "image")
    os.makedirs(os.path.join(image, "rootfs/bin"))
    os.makedirs(os.path.join(image, "rootfs/etc"))
    shutil.copy("/bin/busybox", os.path.join(image, "rootfs/bin/busybox"))
    for a in ("sh", "true"):
        os.symlink("busybox", os.path.join(image, "rootfs/bin", a))
    write(os.path.join(image, "rootfs/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
    write(os.path.join(image, "metadata.json"), '{"env":["PATH=/bin"],"user":""}')
    bundle = os.path.join(work, "bundle")
    os.makedirs(bundle)
    spawn([runc, "spec", "--bundle", bundle])
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/true"]
    spec["process"]["env"] = ["PATH=/bin"]
    spec["root"] = {"path": os.path.join(image, "rootfs"), "readonly": True}
    write(os.path.join(bundle, "config.json"), json.dumps(spec))
    oci_yml = os.path.join(work, "oci.yml")
    write(oci_yml, "platform: linux\nrun: {path: true}\n")
    state = os.path.join(work, "runc-state")
    group("oci_true", {"oci_true": [ts, "execute", "-c", oci_yml, "--worker", "oci", "--image", image],
                       "raw_runc": lambda r: [runc, "--root", state, "run", "--bundle", bundle,
                                              "taskstep-bench-whole-%d-%d" % (os.getpid(), r + 1)]}, 10)

# 3. The output path: 20 MB of log-like text through the command, with N credentials interpolated.
log = os.path.join(work, "log.txt")
size = int(20e6 * (0.25 if quick else 1))
with open(log, "w") as f:
    words = [alnum(rng, rng.randint(1, 12)) for _ in range(5000)]
    n = 0
    while n < size:
        line = " ".join(rng.choice(words) for _ in range(12)) + "\n"
        f.write(line)
        n += len(line)
secrets = [alnum(rng, 32) for _ in range(1000)]
cmds = {}
for count in (0, 10, 100, 1000):
    yml = os.path.join(work, "output-%d.yml" % count)
    params = "".join("  S%d: ((s%d))\n" % (i, i) for i in range(count))
    write(yml, "platform: linux\n" + ("params:\n" + params if count else "") + "run: {path: /bin/cat, args: [%s]}\n" % log)
    sfile = os.path.join(work, "secrets-%d.yml" % count)
    write(sfile, "".join("s%d: %s\n" % (i, secrets[i]) for i in range(count)) or "{}\n")
    cmds["output/secrets:%d" % count] = [ts, "execute", "-c", yml, "--worker", "local", "--secrets-file", sfile]
cmds["cat_log"] = [os.path.abspath(spawn_true), "/bin/cat", log]
group("output", cmds, 5)

# 4. render with N params.
cmds = {}
for count in (10, 100, 1000, 10000):
    yml = os.path.join(work, "render-%d.yml" % count)
    write(yml, "platform: linux\nparams:\n" + "".join("  P%d: value-%d\n" % (i, i) for i in range(count)) +
          "run: {path: /bin/true}\n")
    cmds["render/params:%d" % count] = [ts, "render", yml]
group("render", cmds, 10)

# 5. execute with N inputs (plain directories, not in a git repository).
cmds = {}
for count in (1, 10, 100, 1000):
    yml = os.path.join(work, "inputs-%d.yml" % count)
    write(yml, "platform: linux\ninputs:\n" + "".join("- name: in%d\n" % i for i in range(count)) +
          "run: {path: /bin/true}\n")
    argv = [ts, "execute", "-c", yml, "--worker", "local"]
    for i in range(count):
        d = os.path.join(work, "inputs", "d%d" % i)
        if not os.path.isdir(d):
            os.makedirs(d)
            write(os.path.join(d, "f"), "x\n")
        argv += ["-i", "in%d=%s" % (i, d)]
    cmds["execute/inputs:%d" % count] = argv
    if count == 1000:
        cmds["execute_tmpfs/inputs:%d" % count] = (argv, shm)
group("inputs", cmds, 5)

shutil.rmtree(work, ignore_errors=True)

benchmarks = []
for name, times in results.items():
    med = statistics.median(times)
    benchmarks.append({"name": name, "run_name": name, "run_type": "aggregate", "aggregate_name": "median",
                       "real_time": med, "time_unit": "ns", "repetitions": len(times),
                       "min_time_ns": min(times), "max_time_ns": max(times)})
    print("%-24s median %10.2f ms  (%d runs, %.2f–%.2f ms)" % (name, med / 1e6, len(times), min(times) / 1e6,
                                                             max(times) / 1e6))
for name, msg in errors.items():
    benchmarks.append({"name": name, "run_name": name, "error_occurred": True, "error_message": msg})
    print("%-24s %s" % (name, msg))
with open(out_path, "w") as f:
    json.dump({"context": {}, "benchmarks": benchmarks}, f, indent=1)
