#!/usr/bin/env python3
"""The whole `pmcmodel import FILE --json OUT` of a long -I recording, as a user runs it.

Generates the 100 MiB `perf stat -I 100 -x,` recording with `import_bench --write-recording`
(unless one is given), then times the command REPEATS times, interleaved with the peers, in two
conditions:

- warm: one run straight after another, so the memory the kernel hands out was just freed;
- cooled: PAUSE seconds of idle before each run (default 6). On a VM the host takes back memory
  the guest freed, and touching it again costs the host's faults too: this is what a user who
  imports one file sees.

Peers in the same loop: `wc -l` of the input (the least a reader of the file does) and `cp` of
the input to the output directory (writing that many bytes through the page cache), and any
other pmcmodel binaries given with --compare (an older build).

Throughput is input bytes over median wall time. The JSON written is removed before each run, as
a new file is what a user writes.

Usage: bench/import_command.py PATH/TO/pmcmodel [--recording FILE] [--repeats N] [--pause S]
       [--compare NAME=PATH ...]        (prints a markdown table)
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv):
    cpu0, t0 = children_cpu(), time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - t0, children_cpu() - cpu0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pmcmodel")
    ap.add_argument("--recording")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pause", type=float, default=6.0)
    ap.add_argument("--compare", action="append", default=[])
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pmc-import-bench-")
    recording = a.recording
    if not recording:
        bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(a.pmcmodel))),
                             "bench", "import_bench")
        recording = os.path.join(work, "recording.csv")
        subprocess.run([bench, "--write-recording", recording], check=True,
                       stdout=subprocess.DEVNULL)
    size = os.path.getsize(recording)
    out = os.path.join(work, "out.json")
    commands = {"pmcmodel import": [a.pmcmodel, "import", recording, "--json", out]}
    for spec in a.compare:
        name, path = spec.split("=", 1)
        commands[name] = [path, "import", recording, "--json", out]
    commands["peer: wc -l"] = ["wc", "-l", recording]
    commands["peer: cp"] = ["cp", recording, out]
    rows = []
    for condition, pause in (("warm", 0.0), ("cooled", a.pause)):
        times = {name: [] for name in commands}
        for _ in range(a.repeats):
            for name, argv in commands.items():
                if os.path.exists(out):
                    os.remove(out)
                if pause:
                    time.sleep(pause)
                times[name].append(timed(argv))
        for name, samples in times.items():
            walls = sorted(w for w, _ in samples)
            cpus = sorted(c for _, c in samples)
            wall = statistics.median(walls)
            rows.append((condition, name, wall, walls[0], walls[-1], statistics.median(cpus),
                         size / wall / 1e6))
    if os.path.exists(out):
        os.remove(out)
    if not a.recording:
        os.remove(recording)
    os.rmdir(work)
    print(f"input {size / 1e6:.1f} MB, {a.repeats} runs each, interleaved; cooled: "
          f"{a.pause:g} s idle before each run\n")
    print("| condition | command | wall (median) | min–max | CPU (median) | MB/s |")
    print("|---|---|---:|---:|---:|---:|")
    for condition, name, wall, lo, hi, cpu, mbs in rows:
        print(f"| {condition} | {name} | {wall:.3f} s | {lo:.3f}–{hi:.3f} | {cpu:.2f} s | "
              f"{mbs:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
