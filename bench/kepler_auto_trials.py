#!/usr/bin/env python3
"""Trials for `fit --features auto` on the Kepler nx12 file, chosen by time-ordered CV only.

usage: bench/kepler_auto_trials.py [DATA.csv] [--VARIANT ...] [--l1] [--l1b] [--later] [--half-life=H]
       [--no-nested] [--tolerance=T] [--unclipped-concave]
(needs numpy; default DATA: ../shared/data/power/kepler-nx12-train.csv; no --VARIANT: all of them)

A numpy reproduction of the auto pipeline of models/fit/auto_features.cpp (candidates, ≥ 0 bounds
on activity terms, relative-error weights 1/y², forward selection by the CV MAPE of a
time-ordered plan with a 1 % gap, held-out features clipped to each fold's training range, the
plain linear baseline on the same plan), run on the earlier 70 % of the rows for each variant of
the candidate pool or of the fit. Per variant and target it prints:
- CV MAPE: the selection's own CV error (optimistic: the selection was made on it);
- nested CV MAPE: the whole pipeline, knots included, run on blocks 1..f of the earlier rows and
  judged on block f + 1 (gap before it), as the later 30 % judges a model fitted on the earlier
  70 %: the criterion for choosing a pool, still inside the earlier rows (--no-nested skips it);
- with --later only, the later 30 %'s MAPE of the model each variant selects, for the record in
  docs/MODELS.md: variants are compared on the CV columns, never on that one.
--l1 and --l1b add fits that minimise Σ|y − ŷ|/y (MAPE itself) by iteratively reweighted least
squares; --tolerance sets forward selection's stopping tolerance (default 0.01);
--unclipped-concave predicts √ and log1p terms without clipping them; --half-life=H also halves
the relative weights every H × the fitted rows back from the last of them.
"""
import csv
import sys

import numpy as np

args = [a for a in sys.argv[1:] if not a.startswith("--")]
SHOW_LATER = "--later" in sys.argv
PATH = args[0] if args else "../shared/data/power/kepler-nx12-train.csv"
rows = list(csv.reader(open(PATH)))
COL = {name: i for i, name in enumerate(rows[0])}
DATA = np.array([[float(x) for x in r] for r in rows[1:]])
DATA = DATA[np.argsort(DATA[:, COL["timestamp"]], kind="stable")]
EARLIER = 1079  # head -n 1080: the first 70 % of the 1541 rows
UNCLIPPED_CONCAVE = "--unclipped-concave" in sys.argv  # predict √ and log1p terms unclipped
FIT_ROWS = EARLIER  # the rows a pool's knots and constancy are taken from (set by nested())
INPUTS = ["cpu_cycles", "cpu_instructions", "cache_miss", "bpf_cpu_time_us", "cgroupfs_cpu_usage_us"]


def gap_plan(n, blocks=5):
    """time_ordered_gap_plan: (train rows, test rows) per split, gap = max(1, n / 100)."""
    gap = max(1, n // 100)
    if gap >= n // blocks:
        gap = n // blocks // 2
    start = [next(r for r in range(n) if r * blocks // n == b) for b in range(blocks)] + [n]
    splits = []
    for f in range(1, blocks):
        test_end = start[f + 1] - gap if f + 1 < blocks else n
        splits.append((np.arange(0, start[f] - gap), np.arange(start[f], test_end)))
    return splits


def bounded_ls(g, h, nonneg, n):
    """min ½bᵀGb − hᵀb with b_i ≥ 0 where nonneg[i] (Lawson–Hanson, free variables always passive)."""
    p = len(h)
    g = g + 1e-10 * n * np.eye(p)  # fit_sign_constrained's tiny ridge
    passive = np.array([not c for c in nonneg], dtype=bool)
    b = np.zeros(p)

    def solve(mask):
        s = np.zeros(p)
        if mask.any():
            s[mask] = np.linalg.solve(g[np.ix_(mask, mask)], h[mask])
        return s

    b = solve(passive)
    for _ in range(10 * p + 10):
        w = h - g @ b
        zs = [i for i in range(p) if nonneg[i] and not passive[i]]
        if not zs or max(w[i] for i in zs) <= 1e-12 * (1 + abs(h).max()):
            break
        passive[max(zs, key=lambda i: w[i])] = True
        while True:
            s = solve(passive)
            bad = [i for i in range(p) if nonneg[i] and passive[i] and s[i] <= 0]
            if not bad:
                b = s
                break
            alpha = min(b[i] / (b[i] - s[i]) for i in bad)
            b = b + alpha * (s - b)
            for i in range(p):
                if nonneg[i] and passive[i] and b[i] <= 1e-15:
                    passive[i] = False
                    b[i] = 0
    return b


def fit(x, y, nonneg, weights):
    """Intercept and coefficients: weighted least squares with ≥ 0 bounds (fit_sign_constrained)."""
    w = weights / weights.sum() * len(y)
    mean = (w[:, None] * x).sum(0) / len(y)
    xc = x - mean
    sd = np.sqrt((w[:, None] * xc * xc).sum(0) / len(y))
    sd[sd == 0] = 1
    xs = xc / sd
    ym = (w * y).sum() / len(y)
    g = xs.T @ (w[:, None] * xs)
    h = xs.T @ (w * (y - ym))
    beta = bounded_ls(g, h, nonneg, len(y)) / sd
    return ym - beta @ mean, beta


HALF_LIFE = float(next((a.split("=")[1] for a in sys.argv if a.startswith("--half-life=")), 0))


def weights_of(y, how):
    """1/y² (relative) or 1; with --half-life=H also halved every H × the rows fitted, counted back
    from the last of them (recency: a drifting machine's later rows count more)."""
    w = 1 / y**2 if how == "relative" else np.ones(len(y))
    if HALF_LIFE > 0 and how == "relative":
        age = (len(y) - 1 - np.arange(len(y))) / len(y)
        w = w * 0.5 ** (age / HALF_LIFE)
    return w


def cv_predictions(x, y, nonneg, how, splits, fitter=None):
    pred = np.full(len(y), np.nan)
    for train, test in splits:
        xt = x[train]
        if fitter:
            b0, b = fitter(xt, y[train], nonneg)
        else:
            b0, b = fit(xt, y[train], nonneg, weights_of(y[train], how))
        clipped = np.clip(x[test], xt.min(0), xt.max(0))
        pred[test] = b0 + clipped @ b
    return pred


def mape(y, p):
    m = np.isfinite(p)
    return 100 * np.mean(np.abs(y[m] - p[m]) / np.abs(y[m]))


def vif(x, chosen, c):
    if not chosen:
        return 1
    a = np.column_stack([np.ones(len(x))] + [x[:, i] for i in chosen])
    t = x[:, c]
    r = t - a @ np.linalg.lstsq(a, t, rcond=None)[0]
    sst = ((t - t.mean()) ** 2).sum()
    r2 = 1 - (r @ r) / sst if sst > 0 else np.nan
    return np.inf if not np.isfinite(r2) or r2 >= 1 else 1 / (1 - r2)


def select(x, names, nonneg, y, splits, how="relative", tolerance=0.01, vif_limit=10, fitter=None):
    selected, steps = [], []
    current = mape(y, cv_predictions(np.zeros((len(y), 0)), y, [], how, splits, fitter))
    while True:
        best, best_e = None, np.inf
        for c in range(x.shape[1]):
            if c in selected or vif(x, selected, c) > vif_limit:
                continue
            trial = selected + [c]
            e = mape(y, cv_predictions(x[:, trial], y, [nonneg[i] for i in trial], how, splits, fitter))
            if e < best_e:
                best, best_e = c, e
        if best is None or not best_e < current * (1 - tolerance):
            break
        selected.append(best)
        steps.append((names[best], best_e))
        current = best_e
    return selected, steps, current


# ---- candidate pools -------------------------------------------------------------------------


def raw_columns(d):
    return {c: d[:, COL[c]] for c in INPUTS}


def causal_mean(v, k):
    """Mean of this row and the k − 1 before it (fewer at the start)."""
    c = np.cumsum(np.concatenate([[0.0], v]))
    i = np.arange(1, len(v) + 1)
    lo = np.maximum(0, i - k)
    return (c[i] - c[lo]) / (i - lo)


def lag(v, k):
    out = np.empty_like(v)
    out[k:] = v[:-k]
    out[:k] = v[0]
    return out


class Pool:
    def __init__(self):
        self.names, self.cols, self.nonneg, self.raw = [], [], [], []

    def add(self, name, v, nonneg, raw=False):
        if np.ptp(v[:FIT_ROWS]) == 0 or name in self.names:
            return
        if raw:
            self.raw.append(len(self.names))
        self.names.append(name)
        self.cols.append(v)
        self.nonneg.append(nonneg)

    def matrix(self):
        return np.column_stack(self.cols)


def safe_ratio(a, b):
    return np.where(b != 0, a / np.where(b == 0, 1, b), 0)


def base_pool(columns, quantiles=(0.25, 0.5, 0.75), ratios=True, concave=True, tag=""):
    """expand_candidates: each column, √ and log1p, hinges at quantiles of the earlier rows, ratios."""
    pool = Pool()
    add_columns(pool, columns, quantiles, ratios, concave, tag, raw=True)
    return pool


def add_columns(pool, columns, quantiles=(0.25, 0.5, 0.75), ratios=True, concave=True, tag="",
                raw=False):
    for name, v in columns.items():
        e = v[:FIT_ROWS]
        if np.ptp(e) == 0:
            continue
        pool.add(tag + name, v, True, raw=raw)
        if e.min() >= 0 and concave:
            pool.add(f"sqrt({tag}{name})", np.sqrt(v), True)
            pool.add(f"log1p({tag}{name})", np.log1p(v), True)
        knots = []
        for q in quantiles:
            k = np.quantile(e, q)
            if e.min() < k < e.max() and k not in knots:
                knots.append(k)
                pool.add(f"hinge({tag}{name},{k:.3g})", np.maximum(0, v - k), False)
    if ratios:
        nonneg = [n for n, v in columns.items() if v[:FIT_ROWS].min() >= 0 and np.ptp(v[:FIT_ROWS]) > 0]
        for a in nonneg:
            for b in nonneg:
                if a != b:
                    pool.add(f"ratio({tag}{a},{tag}{b})", safe_ratio(columns[a], columns[b]), False)


TOLERANCE = float(next((a.split("=")[1] for a in sys.argv if a.startswith("--tolerance=")), 0.01))


def auto_model(x, y, names, nonneg_of, raw, how="relative", fitter=None):
    """The auto pipeline on rows (x, y): selection, baseline guard; returns a predictor and its CVs."""
    splits = gap_plan(len(y))
    sel, steps, cv = select(x, names, nonneg_of, y, splits, how, tolerance=TOLERANCE, fitter=fitter)
    base_cv = mape(y, cv_predictions(x[:, raw], y, [False] * len(raw), "none", splits))
    kept_baseline = not sel or not cv < base_cv
    cols = raw if kept_baseline else sel
    nonneg = [False] * len(cols) if kept_baseline else [nonneg_of[i] for i in cols]
    if fitter and not kept_baseline:
        b0, b = fitter(x[:, cols], y, nonneg)
    else:
        b0, b = fit(x[:, cols], y, nonneg, weights_of(y, "none" if kept_baseline else how))
    lo, hi = x[:, cols].min(0), x[:, cols].max(0)
    if UNCLIPPED_CONCAVE:
        for j, c in enumerate(cols):
            if names[c].startswith(("sqrt(", "log1p(")):
                lo[j], hi[j] = -np.inf, np.inf

    def predict(xn):
        return b0 + np.clip(xn[:, cols], lo, hi) @ b

    return predict, cv, base_cv, kept_baseline, sel, steps


def nested(pool_fn, target, how="relative", fitter=None):
    """The whole pipeline (pool knots included) run on the earlier blocks of the earlier rows and
    judged on the next block, as the later 30 % judges it: the honest criterion for a pool."""
    global FIT_ROWS
    y = DATA[:, COL[target]]
    pred = np.full(EARLIER, np.nan)
    for train, test in gap_plan(EARLIER):
        FIT_ROWS = len(train)
        pool = pool_fn()
        x = pool.matrix()
        predict, *_ = auto_model(x[train], y[train], pool.names, pool.nonneg, pool.raw, how, fitter)
        pred[test] = predict(x[test])
    FIT_ROWS = EARLIER
    return mape(y[:EARLIER], pred)


def evaluate(label, pool_fn, target, how="relative", fitter=None):
    pool = pool_fn()
    x = pool.matrix()
    y = DATA[:, COL[target]]
    predict, cv, base_cv, kept, sel, steps = auto_model(
        x[:EARLIER], y[:EARLIER], pool.names, pool.nonneg, pool.raw, how, fitter)
    outer = nested(pool_fn, target, how, fitter) if "--no-nested" not in sys.argv else float("nan")
    later = mape(y[EARLIER:], predict(x[EARLIER:]))
    line = (f"| {label} | {target} | {cv:.2f} % | {outer:.2f} % | {base_cv:.2f} % | "
            f"{'baseline' if kept else len(sel)} |")
    if SHOW_LATER:
        line += f" {later:.2f} % |"
    print(line, flush=True)
    print("    " + ", ".join(f"{n} {e:.2f}" for n, e in steps), file=sys.stderr, flush=True)
    return cv, later


VARIANTS = {}


def variant(f):
    VARIANTS[f.__name__] = f
    return f


@variant
def quartiles():
    return base_pool(raw_columns(DATA))


@variant
def hinges_9():
    return base_pool(raw_columns(DATA), quantiles=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))


@variant
def hinges_5():
    return base_pool(raw_columns(DATA), quantiles=(0.1, 0.25, 0.5, 0.75, 0.9))


def smoothed(k):
    cols = raw_columns(DATA)
    pool = base_pool(cols)
    add_columns(pool, {c: causal_mean(v, k) for c, v in cols.items()}, ratios=True, tag=f"mean{k}:")
    return pool


@variant
def mean2():
    return smoothed(2)


@variant
def mean3():
    return smoothed(3)


@variant
def lag1():
    cols = raw_columns(DATA)
    pool = base_pool(cols)
    add_columns(pool, {c: lag(v, 1) for c, v in cols.items()}, ratios=False, tag="lag1:")
    return pool


@variant
def clock_products():
    """Activity × clock (cycles per µs of CPU time): dynamic power grows with f·V²."""
    cols = raw_columns(DATA)
    pool = base_pool(cols)
    clock = safe_ratio(cols["cpu_cycles"], cols["bpf_cpu_time_us"])
    for c in ("cpu_cycles", "cpu_instructions", "bpf_cpu_time_us"):
        pool.add(f"product({c},clock)", cols[c] * clock, True)
        pool.add(f"product(sqrt({c}),clock)", np.sqrt(cols[c]) * clock, True)
    return pool


@variant
def log_products():
    cols = raw_columns(DATA)
    pool = base_pool(cols)
    act = ["cpu_cycles", "cpu_instructions", "cache_miss", "bpf_cpu_time_us"]
    for i, a in enumerate(act):
        for b in act[i + 1:]:
            pool.add(f"product(log1p({a}),log1p({b}))", np.log1p(cols[a]) * np.log1p(cols[b]), False)
    return pool


def l1_relative_fitter(iterations=30):
    """IRLS for Σ|y − ŷ|/y (MAPE itself): weights 1/(y·max(|r|, ε))."""

    def fitter(x, y, nonneg):
        w = 1 / y**2
        b0, b = fit(x, y, nonneg, w)
        for _ in range(iterations):
            r = np.abs(y - b0 - x @ b) / y
            w = 1 / (y**2 * np.maximum(r, 1e-3))
            b0, b = fit(x, y, nonneg, w)
        return b0, b

    return fitter


DECILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@variant
def hinges_19():
    return base_pool(raw_columns(DATA), quantiles=tuple(q / 20 for q in range(1, 20)))


@variant
def hinges_9_lag1():
    cols = raw_columns(DATA)
    pool = base_pool(cols, quantiles=DECILES)
    add_columns(pool, {c: lag(v, 1) for c, v in cols.items()}, quantiles=DECILES, ratios=False, tag="lag1:")
    return pool


@variant
def hinges_9_mean3():
    cols = raw_columns(DATA)
    pool = base_pool(cols, quantiles=DECILES)
    add_columns(pool, {c: causal_mean(v, 3) for c, v in cols.items()}, quantiles=DECILES, tag="mean3:")
    return pool


@variant
def hinges_9_log_products():
    cols = raw_columns(DATA)
    pool = base_pool(cols, quantiles=DECILES)
    act = ["cpu_cycles", "cpu_instructions", "cache_miss", "bpf_cpu_time_us"]
    for i, a in enumerate(act):
        for b in act[i + 1:]:
            pool.add(f"product(log1p({a}),log1p({b}))", np.log1p(cols[a]) * np.log1p(cols[b]), False)
    return pool


@variant
def hinges_9_ratio_hinges():
    """Hinges of the ratios too (a bend in IPC or in misses per instruction)."""
    cols = raw_columns(DATA)
    pool = base_pool(cols, quantiles=DECILES)
    nonneg = [c for c in INPUTS if cols[c][:FIT_ROWS].min() >= 0]
    ratios = {f"{a}/{b}": safe_ratio(cols[a], cols[b]) for a in nonneg for b in nonneg if a != b}
    add_columns(pool, ratios, quantiles=DECILES, ratios=False, concave=False, tag="r:")
    return pool



@variant
def hinges_19_log_products():
    pool = hinges_19()
    cols = raw_columns(DATA)
    act = ["cpu_cycles", "cpu_instructions", "cache_miss", "bpf_cpu_time_us"]
    for i, a in enumerate(act):
        for b in act[i + 1:]:
            pool.add(f"product(log1p({a}),log1p({b}))", np.log1p(cols[a]) * np.log1p(cols[b]), False)
    return pool


TARGETS = ["package_power", "platform_power", "dram_power"]

if __name__ == "__main__":
    chosen = [a[2:] for a in sys.argv[1:] if a.startswith("--") and a[2:] in VARIANTS]
    header = "| variant | target | CV MAPE | nested CV MAPE | baseline CV | features |" + (" later MAPE |" if SHOW_LATER else "")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    names = [c for c in chosen if c in VARIANTS] or ([] if "--l1b" in sys.argv else list(VARIANTS))
    for name in names:
        for t in TARGETS:
            evaluate(name, VARIANTS[name], t)
    if "--l1b" in sys.argv:
        for t in TARGETS[:2]:
            evaluate("hinges_9, L1 relative (IRLS, 10 iterations)", hinges_9, t, fitter=l1_relative_fitter(10))
            evaluate("hinges_19, L1 relative (IRLS)", hinges_19, t, fitter=l1_relative_fitter())
            evaluate("hinges_9_log_products, L1 relative (IRLS)", hinges_9_log_products, t, fitter=l1_relative_fitter())
    if "--l1" in sys.argv:
        for t in TARGETS:
            evaluate("quartiles, L1 relative (IRLS)", quartiles, t, fitter=l1_relative_fitter())
            evaluate("hinges_9, L1 relative (IRLS)", hinges_9, t, fitter=l1_relative_fitter())
