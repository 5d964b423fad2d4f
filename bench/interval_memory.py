#!/usr/bin/env python3
"""Memory of a long `pmcmodel measure -I` run against `perf stat -I` over the same command.

Runs, side by side, `pmcmodel measure -q -I MS --json OUT -- sleep SECONDS` and
`perf stat -I MS -e task-clock -o /dev/null -- sleep SECONDS`, samples each process's resident
set (VmRSS) and peak (VmHWM) from /proc every SAMPLE seconds, and prints a markdown table and
the growth of each between the first minute and the end. Memory is flat when the resident set at
the end is that of the first minute: pmcmodel keeps no interval in memory (docs/formats.md).

Usage: bench/interval_memory.py PATH/TO/pmcmodel [SECONDS=3600] [MS=10] [SAMPLE=60] [OUTDIR]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def main():
    pmc = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3600
    ms = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    every = float(sys.argv[4]) if len(sys.argv) > 4 else 60
    outdir = sys.argv[5] if len(sys.argv) > 5 else tempfile.mkdtemp(prefix="pmc-ivmem-")
    perf = shutil.which("perf")
    doc = os.path.join(outdir, "run.json")
    runs = {
        "pmcmodel": subprocess.Popen([pmc, "measure", "-q", "-I", str(ms), "--json", doc, "--",
                                      "sleep", str(seconds)]),
    }
    if perf:
        runs["perf"] = subprocess.Popen([perf, "stat", "-I", str(ms), "-e", "task-clock", "-o",
                                         "/dev/null", "--", "sleep", str(seconds)])
    t0 = time.time()
    rows = []
    while any(p.poll() is None for p in runs.values()):
        time.sleep(min(every, 5) if not rows else every)
        row = {"t": time.time() - t0}
        for name, p in runs.items():
            row[name] = status(p.pid) if p.poll() is None else {}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    codes = {name: p.wait() for name, p in runs.items()}
    intervals = len(json.load(open(doc))["intervals"]) if codes["pmcmodel"] == 0 else 0
    print(f"`-I {ms}` for {seconds:g} s; {intervals} intervals in the document "
          f"({os.path.getsize(doc) / 1e6:.0f} MB); exit codes {codes}\n")
    names = list(runs)
    print("| t (s) | " + " | ".join(f"{n} RSS MB | {n} peak MB" for n in names) + " |")
    print("|---:|" + "---:|---:|" * len(names))
    for r in rows:
        cells = []
        for n in names:
            s = r[n]
            cells += [f"{s['VmRSS']:.1f}" if "VmRSS" in s else "-",
                      f"{s['VmHWM']:.1f}" if "VmHWM" in s else "-"]
        print(f"| {r['t']:.0f} | " + " | ".join(cells) + " |")
    for n in names:
        live = [r[n] for r in rows if "VmRSS" in r[n]]
        if len(live) >= 2:
            first = next((s for r, s in zip(rows, live) if r["t"] >= 60), live[0])
            print(f"\n{n}: RSS {first['VmRSS']:.1f} MB after the first minute, "
                  f"{live[-1]['VmRSS']:.1f} MB at the end; peak {live[-1]['VmHWM']:.1f} MB")


if __name__ == "__main__":
    main()
