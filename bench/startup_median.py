#!/usr/bin/env python3
"""Start-up of `pmcmodel measure -- /bin/true` against `perf stat -- /bin/true`, as medians.

bench/startup.sh reports means; on VMs whose kernel sometimes spends 12-20 ms in the first
perf_event_open after a pause (seen with `strace -T` in both tools), medians of interleaved runs
are steadier. Beside bare /bin/true, a floor is measured when a C compiler is present: a program
that forks, opens one task-clock event on the child and execs /bin/true (bench/fork_open_exec.c).

Usage: bench/startup_median.py PATH/TO/pmcmodel [RUNS] [LABEL=PATH/TO/other/pmcmodel ...]
(prints a markdown table). Each LABEL=PATH adds another build of pmcmodel to the same interleaved
loop (an older commit, say), with its own ratio, so that builds are compared in one run.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    pmc = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    others = []
    for arg in sys.argv[3:]:
        label, sep, path = arg.partition("=")
        if not sep or not os.access(path, os.X_OK):
            sys.exit(f"{arg}: expected LABEL=PATH to an executable pmcmodel")
        others.append((label, os.path.abspath(path)))
    perf = shutil.which("perf")
    if not perf:
        sys.exit("perf not found: scripts/install-deps --bench installs linux-perf")
    cmds = {"/bin/true": ["/bin/true"]}
    work = tempfile.mkdtemp(prefix="pmc-startup-")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        floor = os.path.join(work, "fork_open_exec")
        subprocess.run([cc, "-O2", "-o", floor, os.path.join(HERE, "fork_open_exec.c")], check=True)
        cmds["floor: fork + one perf_event_open + exec"] = [floor]
    cmds["perf stat -- /bin/true"] = [perf, "stat", "--", "/bin/true"]
    cmds["pmcmodel measure -- /bin/true"] = [pmc, "measure", "--", "/bin/true"]
    for label, path in others:
        cmds[f"pmcmodel ({label}) measure -- /bin/true"] = [path, "measure", "--", "/bin/true"]
    times = {k: [] for k in cmds}
    for _ in range(runs):
        for name, argv in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t0)
    shutil.rmtree(work)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"| command (median of {runs}, interleaved) | wall ms |")
    print("|---|---:|")
    for name in cmds:
        print(f"| {name} | {med[name]:.2f} |")
    true = med["/bin/true"]
    perf_added = med["perf stat -- /bin/true"] - true
    ratio = (med["pmcmodel measure -- /bin/true"] - true) / perf_added
    print(f"\npmcmodel added / perf added = {ratio:.2f} (target <= 0.5)")
    for label, _ in others:
        other = (med[f"pmcmodel ({label}) measure -- /bin/true"] - true) / perf_added
        print(f"pmcmodel ({label}) added / perf added = {other:.2f}")


if __name__ == "__main__":
    main()
