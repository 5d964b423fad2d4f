#!/usr/bin/env python3
"""What `pmcmodel serve` costs: CPU share of one core and RSS over a run at 1 s sampling with N
fixture cgroups (each with a cpu.stat), a powercap zone advanced by a feeder, and /metrics scraped
every `--scrape` seconds, beside prometheus-node-exporter (Debian) with its rapl collector over
the same fixture powercap tree, scraped the same way, when it is installed.

CPU time is the process's utime+stime from /proc/PID/stat (USER_HZ ticks) over the run after a
warm-up; RSS is VmRSS sampled every 10 s (first, last and peak printed: "flat" means last - first
is within a page or two of allocator slack). The duration is an argument: say which one was used
when recording the result (docs/PERFORMANCE.md).

Usage: bench/serve_overhead.py PMCMODEL [--seconds 180] [--cgroups 50] [--scrape 1]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def make_tree(root, cgroups):
    zone = os.path.join(root, "sys/class/powercap/intel-rapl:0")
    os.makedirs(zone)
    for name, text in (("name", "package-0\n"), ("max_energy_range_uj", "262143328850\n"),
                       ("energy_uj", "%012d\n" % 0)):
        with open(os.path.join(zone, name), "w") as f:
            f.write(text)
    os.makedirs(os.path.join(root, "sys/class/powercap/intel-rapl"))
    with open(os.path.join(root, "sys/class/powercap/intel-rapl/enabled"), "w") as f:
        f.write("1\n")
    cg = os.path.join(root, "sys/fs/cgroup")
    os.makedirs(cg)
    with open(os.path.join(cg, "cgroup.controllers"), "w") as f:
        f.write("cpu\n")
    for i in range(cgroups):
        d = os.path.join(cg, "system.slice", f"bench{i:02d}.service")
        os.makedirs(d)
        with open(os.path.join(d, "cpu.stat"), "w") as f:
            f.write("usage_usec %012d\nuser_usec 0\nsystem_usec 0\n" % (i * 1000))
    return os.path.join(zone, "energy_uj")


def feed(path, stop, watts=50.0):
    fd = os.open(path, os.O_WRONLY)
    t0 = time.monotonic()
    while not stop.is_set():
        os.pwrite(fd, b"%012d\n" % int((time.monotonic() - t0) * watts * 1e6), 0)
        time.sleep(0.1)
    os.close(fd)


def scrape(url, stop, period):
    while not stop.is_set():
        try:
            urllib.request.urlopen(url, timeout=5).read()
        except OSError:
            pass
        time.sleep(period)


def measure(name, argv, env, url, seconds, period):
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        stop = threading.Event()
        t = threading.Thread(target=scrape, args=(url, stop, period))
        t.start()
        time.sleep(5)  # warm-up: first samples, first scrapes
        c0, w0 = cpu_s(proc.pid), time.monotonic()
        rss = [rss_kib(proc.pid)]
        while time.monotonic() - w0 < seconds:
            time.sleep(10)
            rss.append(rss_kib(proc.pid))
        c1, w1 = cpu_s(proc.pid), time.monotonic()
        stop.set()
        t.join()
        share = (c1 - c0) / (w1 - w0) * 100
        print(f"{name}: {share:.3f}% of one core over {w1 - w0:.0f} s "
              f"({c1 - c0:.2f} s CPU); RSS first {rss[0]} KiB, last {rss[-1]} KiB, "
              f"peak {max(rss)} KiB")
        print(f"  RSS every 10 s (KiB): {' '.join(map(str, rss))}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pmcmodel")
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--cgroups", type=int, default=50)
    ap.add_argument("--scrape", type=float, default=1.0)
    ap.add_argument("--no-peer", action="store_true", help="measure pmcmodel serve only")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="pmc-serve-bench-")
    stop = threading.Event()
    try:
        energy = make_tree(root, a.cgroups)
        feeder = threading.Thread(target=feed, args=(energy, stop))
        feeder.start()
        env = dict(os.environ, PMCMODEL_SYSFS_ROOT=os.path.join(root, "sys"))
        print(f"{a.cgroups} fixture cgroups, 1 s sampling, a scrape every {a.scrape} s, "
              f"{a.seconds} s measured after 5 s of warm-up; {os.cpu_count()} CPUs")
        measure("pmcmodel serve", [a.pmcmodel, "serve", "--listen", "127.0.0.1:19648",
                                   "--interval", "1", "--cgroups", "system.slice/*.service"],
                env, "http://127.0.0.1:19648/metrics", a.seconds, a.scrape)
        peer = shutil.which("prometheus-node-exporter")
        if a.no_peer:
            pass
        elif peer:
            # Only the rapl collector, over the same fixture tree (node_exporter samples at each
            # scrape: it has no sampling thread of its own).
            measure("prometheus-node-exporter (rapl collector only)",
                    [peer, "--collector.disable-defaults", "--collector.rapl",
                     "--path.sysfs=" + os.path.join(root, "sys"),
                     "--web.listen-address=127.0.0.1:19649"],
                    env, "http://127.0.0.1:19649/metrics", a.seconds, a.scrape)
        else:
            print("prometheus-node-exporter not installed: no peer measured in this run")
    finally:
        stop.set()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
