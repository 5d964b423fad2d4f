#!/usr/bin/env python3
"""Two ways tried to improve `sku-curve` (docs/MODELS.md), each chosen on validation years and then
judged once on the held-out years: neither is in the shipped model.

1. Recency weights: each result weighted 0.5^(age / half-life) before the end of its training
   period; the half-life chosen on validation (fitted before 2019, judged on 2019-2020).
2. More CPU facts (total cores, base and turbo clock, total LLC, AMD or not, TDP per core,
   threads), added per load level by forward selection on the same validation split (1 %
   tolerance) to the shipped `tdp` method's ln(chips x TDP) and ln(memory).

Usage: bench/sku_curve_trials.py [../shared/data]   (needs numpy; run from the repository root)
"""
import datetime
import importlib.machinery
import importlib.util
import math
import re
import sys
from pathlib import Path

import numpy as np

here = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(here))
loader = importlib.machinery.SourceFileLoader("build_sku_curve", str(here / "build-sku-curve"))
spec = importlib.util.spec_from_loader("build_sku_curve", loader)
bsc = importlib.util.module_from_spec(spec)
loader.exec_module(bsc)

shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
facts = bsc.catalog.CpuSpecs(shared)
results, _ = bsc.load_results(shared, facts)
day = lambda y: datetime.date(y, 1, 1)
rows = [r for r in results if r["date"] >= bsc.TRAIN_FROM and r["tdp_w"]]
fit_v = [r for r in rows if r["date"] < day(2019)]
validate = [r for r in rows if day(2019) <= r["date"] < day(2021)]
train = [r for r in rows if r["date"] < bsc.HOLDOUT_FROM]
held = [r for r in rows if r["date"] >= bsc.HOLDOUT_FROM]
POOL = ["ln_cores", "ln_base", "ln_turbo", "ln_llc", "amd", "ln_tdp_per_core", "ln_threads"]


def extra(r):
    g = lambda f: facts.get(r["cpu"], f)
    ln = lambda v, k=1: math.log(float(v) * k) if v else None
    return {"ln_cores": math.log(r["cores"]), "ln_base": ln(g("base")), "ln_turbo": ln(g("turbo")),
            "ln_llc": ln(g("llc"), r["chips"]),
            "amd": 1.0 if re.search("epyc|opteron|amd", r["cpu"], re.I) else 0.0,
            "ln_tdp_per_core": math.log(r["chips"] * r["tdp_w"] / r["cores"]),
            "ln_threads": math.log(r["threads"])}


def x_of(r, names):
    e = extra(r)
    return [1, math.log(r["chips"] * r["tdp_w"]), math.log(r["memory_gb"])] + [e[k] for k in names]


def mape(fit_rows, test_rows, level, names=(), half_life=None):
    """Held-out MAPE at one level of the ln-watts line; a row lacking a fact gets the plain line."""
    names = list(names)
    usable = [r for r in fit_rows if all(extra(r)[k] is not None for k in names)]
    end = max(r["date"] for r in fit_rows)
    w = np.array([0.5 ** ((end - r["date"]).days / 365.25 / half_life) if half_life else 1.0
                  for r in usable])
    def line(ns):
        a = np.array([x_of(r, ns) for r in usable]) * np.sqrt(w)[:, None]
        y = np.log([r["watts"][level] for r in usable]) * np.sqrt(w)
        return np.linalg.lstsq(a, y, rcond=None)[0]
    full, plain = line(names), line([])
    err = []
    for r in test_rows:
        ok = all(extra(r)[k] is not None for k in names)
        p = math.exp(np.dot(x_of(r, names if ok else []), full if ok else plain))
        err.append(abs(r["watts"][level] - p) / r["watts"][level])
    return 100 * float(np.mean(err))


print(f"results: fit {len(fit_v)} (2015-2018), validate {len(validate)} (2019-2020); "
      f"train {len(train)} (2015-2020), held out {len(held)} (2021-)")
print("1. recency half-life (years): validation idle / 100 %  ->  held out idle / 100 %")
grid = [None, 0.25, 0.5, 1, 2, 4]
scores = {h: (mape(fit_v, validate, 0, half_life=h), mape(fit_v, validate, 10, half_life=h))
          for h in grid}
best = min(grid, key=lambda h: sum(scores[h]))
for h in grid:
    print(f"   {h or 'none':>5}: {scores[h][0]:5.1f} / {scores[h][1]:5.1f}"
          + (f"  ->  {mape(train, held, 0, half_life=h):5.1f} / {mape(train, held, 10, half_life=h):5.1f}"
             if h in (None, best) else "") + ("   (chosen)" if h == best else ""))
print("2. per-level facts chosen on validation: level, chosen, validation before -> after, "
      "held out before -> after")
for level in range(11):
    chosen, current = [], mape(fit_v, validate, level)
    start = current
    while True:
        trial = {k: mape(fit_v, validate, level, chosen + [k]) for k in POOL if k not in chosen}
        k = min(trial, key=trial.get) if trial else None
        if k is None or not trial[k] < current * 0.99:
            break
        chosen.append(k)
        current = trial[k]
    name = "idle" if level == 0 else f"{level * 10} %"
    print(f"   {name:>5} {','.join(chosen) or '-':<32} {start:5.1f} -> {current:5.1f}   "
          f"{mape(train, held, level):5.1f} -> {mape(train, held, level, chosen):5.1f}")
