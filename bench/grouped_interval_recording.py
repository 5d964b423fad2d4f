#!/usr/bin/env python3
"""Writes a long `perf stat -a -M TopDownL1 -I 100` text recording whose metrics perf printed
beside groups that repeat events: the layout of tests/data/perfstat/wild/061.txt (perf 5.7,
Skylake, six groups, `cycles` in five of them), one block per interval with the counts moved by
a deterministic jitter. What the import does per group per interval is what it measures
(`/usr/bin/time -v pmcmodel import FILE --json OUT`).

Usage: bench/grouped_interval_recording.py OUT [--intervals N] [--csv]   (default 10000; --csv
       writes it as `-x,` prints it, which `import --json` streams)
"""
import argparse

# (count, event, metric printed on the row or on a continuation row, running %) of 061.txt.
ROWS = [
    (920211343, "uops_issued.any", "0.5 Backend_Bound", False, 16.56),
    (1977733128, "idq_uops_not_delivered.core", None, False, 16.56),
    (51668510, "int_misc.recovery_cycles", None, False, 16.56),
    (732305692, "uops_retired.retire_slots", None, False, 16.56),
    (1497621849, "cycles", None, False, 16.56),
    (721098274, "uops_issued.any", "0.1 Bad_Speculation", False, 16.79),
    (1332681791, "cycles", None, False, 16.79),
    (552475482, "uops_retired.retire_slots", None, False, 16.79),
    (47708340, "int_misc.recovery_cycles", None, False, 16.79),
    (1383713292, "cycles", "0.4 Frontend_Bound", True, 16.76),
    (2013757701, "idq_uops_not_delivered.core", None, False, 16.76),
    (1373363790, "cycles", "0.1 Retiring", True, 33.54),
    (577302589, "uops_retired.retire_slots", None, False, 33.54),
    (392766987, "inst_retired.any", "0.3 IPC", False, 50.24),
    (1351873350, "cpu_clk_unhalted.thread", None, False, 50.24),
    (1332510318, "cycles", "5330041272.0 SLOTS", True, 49.90),
]


def jitter_of(i):
    return 1 + ((i * 7919) % 101 - 50) / 1000.0


def write_csv(f, intervals):
    for i in range(intervals):
        ts = f"{0.100 * (i + 1) + 0.000107588:.9f}"
        jitter = jitter_of(i)
        for count, event, metric, own_line, pct in ROWS:
            n = int(count * jitter / 10)
            run = int(100000000 * pct / 100)
            value, unit = metric.split(" ", 1) if metric else ("", "")
            if metric and own_line:
                f.write(f"{ts},{n},,{event},{run},{pct:.2f},,\n")
                f.write(f"{ts},,,,,,{value},{unit}\n")
            else:
                f.write(f"{ts},{n},,{event},{run},{pct:.2f},{value},{unit}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--intervals", type=int, default=10000)
    ap.add_argument("--csv", action="store_true")
    a = ap.parse_args()
    with open(a.out, "w") as f:
        if a.csv:
            write_csv(f, a.intervals)
            return
        f.write("#           time             counts unit events\n")
        for i in range(a.intervals):
            ts = f"{0.100 * (i + 1) + 0.000107588:15.9f}"
            jitter = jitter_of(i)
            for count, event, metric, own_line, pct in ROWS:
                n = f"{int(count * jitter / 10):,}"
                running = f"({pct:.2f}%)"
                if metric and not own_line:
                    f.write(f"{ts} {n:>18}      {event:<25} # {metric:<24} {running}\n")
                elif metric:
                    f.write(f"{ts} {n:>18}      {event}\n")
                    f.write(f"{ts} {'':>18}      {'':<25} # {metric:<24} {running}\n")
                else:
                    f.write(f"{ts} {n:>18}      {event:<51} {running}\n")


if __name__ == "__main__":
    main()
