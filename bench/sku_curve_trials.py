#!/usr/bin/env python3
"""How the features of `sku-curve`'s tdp method were chosen (docs/MODELS.md): time-ordered
cross-validation inside the training years only, then one look at the held-out years.

Candidates: a base, ln(chips x TDP) + ln(memory) ("total") or ln(TDP per chip) + ln(chips) +
ln(memory) ("per chip"), plus up to two of: AMD or not, ln cores, ln(TDP per core), ln base GHz,
ln turbo GHz, ln threads per core; fitted by least squares or Huber-reweighted least squares on
ln watts; on results published from 2012 or from 2015 on. (The CPU's launch year was left out: the
EPYC table's launch dates do not parse, so it would be judged on Intel rows only.)

CV: each of 2018, 2019 and 2020 judged by a fit on the years before it (from the first year),
MAPE averaged over the three folds; a result whose CPU lacks a clock a candidate needs gets the
cores method, as pmcmodel does. Choice, fixed before the held-out years were looked at: idle by
its CV MAPE, the loaded levels (10 .. 100 %) together by their mean CV MAPE; among the candidates
within 0.5 points of the best, the one with the fewest features (then the lower CV MAPE).

Then each pick is fitted on 2015/2012-2020 and judged once on the results from 2021 on, beside
the previous model (total base, least squares, from 2015).

Usage: bench/sku_curve_trials.py [../shared/data]   (standard library only; a few minutes)
"""
import datetime
import importlib.machinery
import importlib.util
import itertools
import math
import re
import statistics
import sys
from pathlib import Path

here = Path(__file__).resolve().parent.parent / "scripts"
loader = importlib.machinery.SourceFileLoader("build_sku_curve", str(here / "build-sku-curve"))
spec = importlib.util.spec_from_loader("build_sku_curve", loader)
bsc = importlib.util.module_from_spec(spec)
loader.exec_module(bsc)

shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
facts = {f[0]: f for f in bsc.cpu_facts(shared)}
results, _ = bsc.load_results(shared, facts)
rows = [r for r in results if r["tdp_w"]]
HOLD = bsc.HOLDOUT_FROM
FOLDS = [2018, 2019, 2020]
STARTS = [2012, 2015]
HOWS = {"ols": bsc.least_squares, "huber": bsc.huber}
ln = lambda v: math.log(v) if v else None
FEATURES = {
    "ln_total_tdp_w": lambda r: math.log(r["chips"] * r["tdp_w"]),
    "ln_tdp_w": lambda r: math.log(r["tdp_w"]),
    "ln_chips": lambda r: math.log(r["chips"]),
    "ln_memory_gb": lambda r: math.log(r["memory_gb"]),
    "ln_cores": lambda r: math.log(r["cores"]),
    "ln_tdp_per_core": lambda r: math.log(r["chips"] * r["tdp_w"] / r["cores"]),
    "amd": lambda r: 1.0 if re.search("epyc|opteron|amd", r["cpu"], re.I) else 0.0,
    "ln_base_ghz": lambda r: ln(r["base_ghz"]),
    "ln_turbo_ghz": lambda r: ln(r["turbo_ghz"]),
    "ln_threads_per_core": lambda r: math.log(r["threads"] / r["cores"]),
}
BASES = [["ln_total_tdp_w", "ln_memory_gb"], ["ln_tdp_w", "ln_chips", "ln_memory_gb"]]
EXTRAS = ["amd", "ln_cores", "ln_tdp_per_core", "ln_base_ghz", "ln_turbo_ghz",
          "ln_threads_per_core"]
CORES = ["ln_cores", "ln_chips", "ln_memory_gb"]
PREVIOUS = {"start": 2015, "how": "ols", "names": BASES[0]}


def x(r, names):
    v = [FEATURES[n](r) for n in names]
    return None if any(e is None for e in v) else v


def line(train, names, level, how):
    """A feature constant in the training rows (no AMD server before 2018) gets coefficient 0."""
    use = [r for r in train if x(r, names) is not None]
    xs = [x(r, names) for r in use]
    keep = [j for j in range(len(names)) if len({v[j] for v in xs}) > 1]
    b0, b = HOWS[how]([[v[j] for j in keep] for v in xs], [math.log(r["watts"][level]) for r in use])
    coef = dict(zip(keep, b))
    return b0, [coef.get(j, 0.0) for j in range(len(names))]


def mape(train, test, names, level, how):
    """A test result lacking a fact gets the cores method (least squares)."""
    b0, b = line(train, names, level, how)
    c0, c = line(train, CORES, level, "ols")
    err = []
    for r in test:
        v = x(r, names)
        p = b0 + math.fsum(bi * e for bi, e in zip(b, v)) if v else \
            c0 + math.fsum(ci * e for ci, e in zip(c, x(r, CORES)))
        err.append(abs(r["watts"][level] - math.exp(p)) / r["watts"][level])
    return 100 * statistics.fmean(err)


def cv(cand, level):
    pool = [r for r in rows if r["date"].year >= cand["start"] and r["date"] < HOLD]
    return statistics.fmean(
        mape([r for r in pool if r["date"].year < y], [r for r in pool if r["date"].year == y],
             cand["names"], level, cand["how"]) for y in FOLDS)


def held_out(cand, level):
    train = [r for r in rows if r["date"].year >= cand["start"] and r["date"] < HOLD]
    return mape(train, [r for r in rows if r["date"] >= HOLD], cand["names"], level, cand["how"])


def pick(cands, key):
    best = min(c[key] for c in cands)
    return min((c for c in cands if c[key] <= best + 0.5), key=lambda c: (len(c["names"]), c[key]))


cands = [{"start": s, "how": h, "names": base + list(extra)}
         for s in STARTS for h in HOWS for base in BASES
         for k in range(3) for extra in itertools.combinations(EXTRAS, k)
         if not {"ln_cores", "ln_tdp_per_core"} <= set(extra)]  # the two with a base: collinear
for c in cands:
    c["idle"] = cv(c, 0)
    c["loaded"] = statistics.fmean(cv(c, lv) for lv in range(1, 11))
previous = next(c for c in cands if all(c[k] == PREVIOUS[k] for k in PREVIOUS))
print(f"{len(cands)} candidates; results with CPU facts: {len(rows)}, "
      f"{sum(1 for r in rows if r['date'] < HOLD and r['date'].year >= 2015)} of them 2015-2020, "
      f"{sum(1 for r in rows if r['date'] >= HOLD)} held out (2021-)")
for key, levels in (("idle", [0]), ("loaded", range(1, 11))):
    print(f"\n{key}: the 8 best by CV MAPE")
    for c in sorted(cands, key=lambda c: c[key])[:8]:
        print(f"   {c[key]:5.1f}  {c['start']} {c['how']:<5} {', '.join(c['names'])}")
    chosen = pick(cands, key)
    print(f"   chosen: {chosen['start']} {chosen['how']} {', '.join(chosen['names'])}")
    print(f"   CV MAPE {previous[key]:.1f} (previous model) -> {chosen[key]:.1f}")
    for lv in levels:
        name = "idle" if lv == 0 else f"{lv * 10} %"
        print(f"   held out {name:>5}: {held_out(previous, lv):5.1f} (previous) -> "
              f"{held_out(chosen, lv):5.1f}")
