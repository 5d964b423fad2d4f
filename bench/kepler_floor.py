#!/usr/bin/env python3
"""How low a counter model's error can go on the later 30 % of the Kepler nx12 file, when it is
allowed to see those rows: a diagnostic for docs/MODELS.md, never used to choose a model.

Usage: bench/kepler_floor.py [../shared/data/power/kepler-nx12-train.csv]   (needs numpy)
"""
import csv
import sys

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/power/kepler-nx12-train.csv"
rows = list(csv.reader(open(path)))
col = {name: i for i, name in enumerate(rows[0])}
data = np.array([[float(x) for x in r] for r in rows[1:]])
data = data[np.argsort(data[:, col["timestamp"]], kind="stable")]
earlier = len(data) - int(round(len(data) * 0.3))
inputs = ["cpu_cycles", "cpu_instructions", "cache_miss", "bpf_cpu_time_us",
          "cgroupfs_cpu_usage_us"]
activity = inputs[:4]
ratios = [("cpu_instructions", "cpu_cycles"), ("cache_miss", "cpu_instructions"),
          ("cache_miss", "cpu_cycles"), ("cpu_cycles", "bpf_cpu_time_us")]


def candidates(d, knots_from):
    """Raw, sqrt, log1p, hinges at the 25/50/75 % quantiles, four ratios and their log-differences."""
    out = []
    for c in inputs:
        v, k = d[:, col[c]], knots_from[:, col[c]]
        out += [v, np.sqrt(v), np.log1p(v)]
        knots = []
        for q in (0.25, 0.5, 0.75):
            knot = np.quantile(k, q)
            if k.min() < knot < k.max() and knot not in knots:
                knots.append(knot)
                out.append(np.maximum(0, v - knot))
    for a, b in ratios:
        va, vb = d[:, col[a]], d[:, col[b]]
        out += [np.where(vb != 0, va / np.where(vb == 0, 1, vb), 0), np.log1p(va) - np.log1p(vb)]
    return out


def mape(y, p):
    return 100 * np.mean(np.abs(y - p) / np.abs(y))


def ols(columns, y):
    x = np.column_stack([np.ones(len(y))] + columns)
    return x @ np.linalg.lstsq(x, y, rcond=None)[0], x.shape[1]


later = data[earlier:]
for target in ("package_power", "platform_power"):
    y = data[:, col[target]]
    cand = candidates(data, data)
    fitted, k = ols(cand, y)
    print(f"{target}: {len(cand)} candidates, OLS on the whole file: later rows in sample "
          f"{mape(y[earlier:], fitted[earlier:]):.2f}%")
    logs = [np.log1p(later[:, col[c]]) for c in activity]
    products = [logs[i] * logs[j] for i in range(4) for j in range(i, 4)]
    fitted, k = ols(candidates(later, data) + products, later[:, col[target]])
    print(f"  + {len(products)} products of logs, fitted on the later rows alone ({k} coefficients):"
          f" {mape(later[:, col[target]], fitted):.2f}% in sample")
    base = logs + [np.sqrt(later[:, col[c]]) for c in activity]

    def shifted(v, k):  # k > 0: the interval k before; k < 0: after (edges repeated)
        return np.concatenate([np.full(k, v[0]), v[:-k]]) if k > 0 else \
            np.concatenate([v[-k:], np.full(-k, v[-1])])
    for lags in ([], [1], [-1]):
        cols = base + [shifted(v, k) for k in lags for v in base]
        fitted, k = ols(cols, later[:, col[target]])
        print(f"  log1p and sqrt of the activity columns, shifted by {lags or 'none'}, later rows "
              f"alone: {mape(later[:, col[target]], fitted):.2f}% in sample")
