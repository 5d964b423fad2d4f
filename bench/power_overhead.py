#!/usr/bin/env python3
"""What sampling power and counters every 100 ms costs the measuring process.

Runs `pmcmodel measure -I 100 -- sleep S` on a copy of a powercap fixture tree (so the power
source is opened and read every 100 ms, as on a RAPL machine) and reports pmcmodel's own CPU time:
the CPU time of everything it ran (RUSAGE_CHILDREN of this script around the one run) minus the
command's (the user_s + sys_s pmcmodel records from the command's rusage). Startup is separated
from the steady cost by a short run of the same command: marginal = (cpu_long - cpu_short) /
(wall_long - wall_short). Beside it, `perf stat -I 100 -e task-clock -- sleep S` measured the same
way (sleep's own CPU time, from a bare run, subtracted), when perf is installed.

Each figure is the median of REPEATS runs (default 3), interleaved, because other load on the
machine moves single runs by milliseconds. `--power-source none` (no source opened, nothing
sampled: the energy is estimated) is the peer that isolates what sampling the source costs.

Usage: bench/power_overhead.py PATH/TO/pmcmodel [SECONDS] [REPEATS]   (prints a markdown table)
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(HERE, "..", "tests", "data", "sysfs-power", "intel-client")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv, env=None):
    """(wall seconds, CPU seconds of the process tree) for one run of argv."""
    cpu0, t0 = children_cpu(), time.monotonic()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - t0, children_cpu() - cpu0


def pmcmodel_run(pmc, tree, seconds, extra, workdir):
    out = os.path.join(workdir, "run.json")
    argv = [pmc, "measure", "-q", "-e", "task-clock", "--json", out] + extra
    argv += ["--", "sleep", str(seconds)]
    env = dict(os.environ, PMCMODEL_SYSFS_ROOT=tree)
    wall, cpu = timed(argv, env)
    doc = json.load(open(out))
    if "--power-source" not in extra:
        assert any(e["method"] == "measured:powercap" for e in doc["energy"]), "powercap not used"
    own = cpu - (doc["user_s"] + doc["sys_s"])
    return wall, own


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def main():
    pmc = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    short = 0.5
    work = tempfile.mkdtemp(prefix="pmc-power-bench-")
    tree = os.path.join(work, "intel-client")
    shutil.copytree(TREE, tree)
    # The fixture replaces all of /sys; a real machine also has its cgroup hierarchy there, whose
    # root CPU counter measure -q -I reads at each tick (TaskCpuReader). The machine's own
    # /sys/fs/cgroup stands in for it; a second copy without it shows the /proc/stat fallback.
    bare = os.path.join(work, "intel-client-no-cgroup")
    shutil.copytree(TREE, bare)
    if os.path.isdir("/sys/fs/cgroup"):
        os.makedirs(os.path.join(tree, "fs"), exist_ok=True)
        os.symlink("/sys/fs/cgroup", os.path.join(tree, "fs", "cgroup"))
    stream = ["--interval-out", os.path.join(work, "run.jsonl")]
    configs = [
        ("pmcmodel measure (powercap sampled every 100 ms, no -I)", []),
        ("pmcmodel measure --power-source none (nothing sampled; peer)", ["--power-source", "none"]),
        ("pmcmodel measure -I 100 (powercap and counters every 100 ms)", ["-I", "100"]),
        ("pmcmodel measure -I 100 --power-source none (counters only; peer)",
         ["-I", "100", "--power-source", "none"]),
        ("pmcmodel measure -I 100 --interval-out FILE (streamed JSON Lines)", ["-I", "100"] + stream),
        ("pmcmodel measure -I 100, no cgroup counter (/proc/stat at each tick)", ["-I", "100"]),
    ]
    tree_of = {configs[-1][0]: bare}
    samples = {label: [] for label, _ in configs}
    perf = shutil.which("perf")
    perf_label = "perf stat -I 100 -e task-clock (peer)"
    if perf:
        samples[perf_label] = []
        _, sleep_cpu = timed(["sleep", str(seconds)])
    for _ in range(repeats):
        for label, extra in configs:
            t = tree_of.get(label, tree)
            ws, cs = pmcmodel_run(pmc, t, short, extra, work)
            wl, cl = pmcmodel_run(pmc, t, seconds, extra, work)
            samples[label].append((wl, cl, (cl - cs) / (wl - ws)))
        if perf:
            ws, cs = timed([perf, "stat", "-I", "100", "-e", "task-clock", "--", "sleep", str(short)])
            wl, cl = timed([perf, "stat", "-I", "100", "-e", "task-clock", "--", "sleep", str(seconds)])
            samples[perf_label].append((wl, cl - sleep_cpu, (cl - cs) / (wl - ws)))
    rows = [(label, median([r[0] for r in runs]), median([r[1] for r in runs]),
             median([r[2] for r in runs])) for label, runs in samples.items()]
    shutil.rmtree(work)
    print(f"| run of `sleep {seconds:g}` | wall s | measuring process CPU s | share of one core "
          f"| steady share (minus a {short:g} s run) |")
    print("|---|---:|---:|---:|---:|")
    for label, wall, own, marginal in rows:
        print(f"| {label} | {wall:.3f} | {own:.4f} | {own / wall * 100:.3f}% | {marginal * 100:.3f}% |")
    by = {label: row for label, *row in rows}
    sampled, none = by[configs[0][0]], by[configs[1][0]]
    print(f"\npower source sampling every 100 ms, steady cost: {(sampled[2] - none[2]) * 100:.3f}% "
          f"of one core (target < 0.1%)")
    if not perf:
        print("perf not installed (scripts/install-deps --bench installs linux-perf): no perf row")
    else:
        print(f"pmcmodel -I 100 / perf stat -I 100, steady measuring-process CPU: "
              f"{by[configs[2][0]][2] / by[perf_label][2]:.2f}")


if __name__ == "__main__":
    main()
