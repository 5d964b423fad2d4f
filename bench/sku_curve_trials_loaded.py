#!/usr/bin/env python3
"""Second round of trials for the loaded levels (10 .. 100 %) of `sku-curve`'s tdp method
(docs/MODELS.md, "Second round for the loaded levels"): time-ordered cross-validation inside
2015/2012-2020 only, then one look at the held-out years for the pick.

Pool (fixed after only a check that the shipped line's CV reproduces, docs/MODELS.md):
  bases   total:        ln W  ~ ln(chips x TDP) + ln memory
          perchip:      ln W  ~ ln TDP + ln chips + ln memory
          offset:       ln(W / (chips x TDP)) ~ ln memory            (watts per TDP watt: the
          offset_chips: ln(W / (chips x TDP)) ~ ln chips + ln memory per chip   TDP exponent 1)
  plus up to two of: AMD or not, ln cores, ln cores per chip, ln threads, ln threads per chip,
          ln threads per core, ln TDP per core, ln base GHz, ln turbo GHz, ln Processor MHz (the
          result table's own column), launch year of the CPU (a time trend; EPYC 7001/7002 and
          Opteron launch years from the series, which AMD's table leaves empty), AMD x
          ln(chips x TDP) (another TDP slope for AMD), ln(turbo / base);
  fitted by least squares, Huber-reweighted or least-absolute-deviation (IRLS) on the log target;
  from 2012 or from 2015 on.

CV: each of 2018, 2019, 2020 predicted by a fit on the years before it; MAPE averaged over the
three folds and over the ten loaded levels (a result whose CPU lacks a fact a candidate needs gets
the cores method). Rule: the lowest mean; among candidates within 0.5 points of it, the fewest
features. Adopted only if it is at least 1 point below the shipped line's CV (11.1 %), the spread
within which the previous round found candidates indistinguishable.

Usage: bench/sku_curve_trials_loaded.py [../shared/data] [--jobs N]  (standard library; ~13 min
with the default 2 processes)
"""
import argparse
import importlib.machinery
import importlib.util
import itertools
import math
import multiprocessing
import re
import statistics
from pathlib import Path

here = Path(__file__).resolve().parent.parent / "scripts"
loader = importlib.machinery.SourceFileLoader("build_sku_curve", str(here / "build-sku-curve"))
spec = importlib.util.spec_from_loader("build_sku_curve", loader)
bsc = importlib.util.module_from_spec(spec)
loader.exec_module(bsc)

ap = argparse.ArgumentParser()
ap.add_argument("shared", nargs="?", type=Path, default=Path("../shared/data"))
ap.add_argument("--jobs", type=int, default=2)
args = ap.parse_args()

# AMD's table leaves these series' launch dates empty (public launch years).
SERIES_YEAR = {"7001": 2017, "7002": 2019, "6100": 2010, "6200": 2011, "4200": 2011, "6300": 2012,
               "4300": 2012, "3200": 2011, "3300": 2012}
HOLD = bsc.HOLDOUT_FROM
FOLDS = [2018, 2019, 2020]
SHIPPED = {"start": 2015, "how": "ols", "base": "total",
           "names": ["ln_total_tdp_w", "ln_memory_gb", "ln_base_ghz"]}


def load():
    facts = {f[0]: f for f in bsc.cpu_facts(args.shared)}
    results, _ = bsc.load_results(args.shared, facts)
    series = {bsc.catalog.cpu_key(x["Name"]): x["Series"]
              for x in bsc.catalog.read_csv(args.shared / "skus/amd_epyc_server.csv")}
    mhz = {}
    for x in bsc.catalog.read_csv(args.shared / "skus/specpower_ssj2008.csv"):
        v = bsc.catalog.dec(x["HW_CPUFreq"])
        if v:
            mhz[(x["HW_CPUName"], bsc.published(x["Publication"]))] = v
    for r in results:
        f = bsc.find_facts(facts, r["cpu"])
        r["amd"] = 1.0 if re.search("epyc|opteron|amd", r["cpu"], re.I) else 0.0
        r["launch_year"] = int(f[6]) if f and f[6] else None
        if r["launch_year"] is None and f and f[0] in series:
            m = re.search(r"(\d{4}) Series", series[f[0]])
            r["launch_year"] = SERIES_YEAR.get(m.group(1)) if m else None
        r["mhz"] = mhz.get((r["cpu"], r["date"]))
    return [r for r in results if r["tdp_w"]]


def ln(v):
    return math.log(v) if v else None


F = {
    "ln_total_tdp_w": lambda r: math.log(r["chips"] * r["tdp_w"]),
    "ln_tdp_w": lambda r: math.log(r["tdp_w"]),
    "ln_chips": lambda r: math.log(r["chips"]),
    "ln_memory_gb": lambda r: math.log(r["memory_gb"]),
    "ln_mem_per_chip": lambda r: math.log(r["memory_gb"] / r["chips"]),
    "ln_cores": lambda r: math.log(r["cores"]),
    "ln_cores_per_chip": lambda r: math.log(r["cores"] / r["chips"]),
    "ln_threads": lambda r: math.log(r["threads"]),
    "ln_threads_per_chip": lambda r: math.log(r["threads"] / r["chips"]),
    "ln_smt": lambda r: math.log(r["threads"] / r["cores"]),
    "ln_tdp_per_core": lambda r: math.log(r["chips"] * r["tdp_w"] / r["cores"]),
    "amd": lambda r: r["amd"],
    "ln_base_ghz": lambda r: ln(r["base_ghz"]),
    "ln_turbo_ghz": lambda r: ln(r["turbo_ghz"]),
    "ln_mhz": lambda r: ln(r["mhz"]),
    "launch": lambda r: r["launch_year"] - 2015 if r["launch_year"] else None,
    "amd_x_lntdp": lambda r: r["amd"] * math.log(r["chips"] * r["tdp_w"]),
    "ln_turbo_over_base": lambda r: math.log(r["turbo_ghz"] / r["base_ghz"])
    if r["turbo_ghz"] and r["base_ghz"] else None,
}
BASES = {"total": (["ln_total_tdp_w", "ln_memory_gb"], False),
         "perchip": (["ln_tdp_w", "ln_chips", "ln_memory_gb"], False),
         "offset": (["ln_memory_gb"], True),
         "offset_chips": (["ln_chips", "ln_mem_per_chip"], True)}
EXTRAS = ["amd", "ln_cores", "ln_cores_per_chip", "ln_threads", "ln_threads_per_chip", "ln_smt",
          "ln_tdp_per_core", "ln_base_ghz", "ln_turbo_ghz", "ln_mhz", "launch", "amd_x_lntdp",
          "ln_turbo_over_base"]
CORES = ["ln_cores", "ln_chips", "ln_memory_gb"]
ROWS = load()
VALUES = [{n: f(r) for n, f in F.items()} for r in ROWS]


def x(i, names):
    v = [VALUES[i][n] for n in names]
    return None if any(e is None for e in v) else v


def lsq(xs, ys, ws=None):
    n, p = len(ys), len(xs[0])
    ws = ws or [1.0] * n
    sw = sum(ws)
    mx = [sum(w * v[j] for v, w in zip(xs, ws)) / sw for j in range(p)]
    my = sum(w * y for y, w in zip(ys, ws)) / sw
    cx = [[v[j] - mx[j] for j in range(p)] for v in xs]
    cy = [y - my for y in ys]
    g = [[sum(w * r[i] * r[j] for r, w in zip(cx, ws)) for j in range(p)] for i in range(p)]
    rhs = [sum(w * r[i] * y for r, y, w in zip(cx, cy, ws)) for i in range(p)]
    beta = bsc.solve(g, rhs)
    return my - sum(b * m for b, m in zip(beta, mx)), beta


def fit_xy(xs, ys, how):
    b0, b = lsq(xs, ys)
    for _ in range(25 if how != "ols" else 0):
        res = [y - b0 - sum(bi * v for bi, v in zip(b, xv)) for xv, y in zip(xs, ys)]
        if how == "huber":
            s = statistics.median(abs(e) for e in res) / 0.6745 or 1e-9
            ws = [min(1.0, 1.345 * s / abs(e)) if e else 1.0 for e in res]
        else:  # least absolute deviation
            ws = [1.0 / max(abs(e), 1e-4) for e in res]
        b0, b = lsq(xs, ys, ws)
    return b0, b


def offset(i, off):
    return VALUES[i]["ln_total_tdp_w"] if off else 0.0


def fit(train, names, lv, how, off):
    """A feature constant in the training rows (no AMD server before 2018) gets coefficient 0."""
    use = [i for i in train if x(i, names) is not None]
    xs = [x(i, names) for i in use]
    keep = [j for j in range(len(names)) if len({v[j] for v in xs}) > 1]
    ys = [math.log(ROWS[i]["watts"][lv]) - offset(i, off) for i in use]
    b0, b = fit_xy([[v[j] for j in keep] for v in xs], ys, how)
    coef = dict(zip(keep, b))
    return b0, [coef.get(j, 0.0) for j in range(len(names))]


def mape(train, test, c, lv):
    off = BASES[c["base"]][1]
    b0, b = fit(train, c["names"], lv, c["how"], off)
    c0, cc = fit(train, CORES, lv, "ols", False)
    err = []
    for i in test:
        v = x(i, c["names"])
        p = b0 + sum(bi * e for bi, e in zip(b, v)) + offset(i, off) if v else \
            c0 + sum(ci * e for ci, e in zip(cc, x(i, CORES)))
        err.append(abs(ROWS[i]["watts"][lv] - math.exp(p)) / ROWS[i]["watts"][lv])
    return 100 * statistics.fmean(err)


def cv(c):
    pool = [i for i, r in enumerate(ROWS) if r["date"].year >= c["start"] and r["date"] < HOLD]
    try:
        per = [statistics.fmean(
            mape([i for i in pool if ROWS[i]["date"].year < y],
                 [i for i in pool if ROWS[i]["date"].year == y], c, lv) for y in FOLDS)
            for lv in range(1, 11)]
    except (ZeroDivisionError, OverflowError):  # collinear features (cores and threads, ...)
        return None
    return dict(c, levels=per, loaded=statistics.fmean(per))


def held_out(c):
    train = [i for i, r in enumerate(ROWS) if r["date"].year >= c["start"] and r["date"] < HOLD]
    test = [i for i, r in enumerate(ROWS) if r["date"] >= HOLD]
    return [mape(train, test, c, lv) for lv in range(1, 11)]


def main():
    cands = [{"start": s, "how": h, "base": b, "names": BASES[b][0] + list(extra)}
             for s in (2015, 2012) for h in ("ols", "huber", "lad") for b in BASES
             for k in range(3) for extra in itertools.combinations(EXTRAS, k)]
    cands = [c for c in cands if len(set(c["names"])) == len(c["names"])]
    with multiprocessing.Pool(args.jobs) as p:
        scored = [c for c in p.map(cv, cands, chunksize=8) if c]
    shipped = next(c for c in scored if all(c[k] == SHIPPED[k] for k in SHIPPED))
    print(f"{len(scored)} candidates (of {len(cands)}; the rest collinear)")
    print("the 10 best by mean CV MAPE over 10..100 % (CV at 100 % in brackets)")
    for c in sorted(scored, key=lambda c: c["loaded"])[:10]:
        print(f"   {c['loaded']:5.2f} ({c['levels'][-1]:5.2f})  {c['start']} {c['how']:<5} "
              f"{c['base']:<12} {', '.join(c['names'])}")
    at100 = min(scored, key=lambda c: c["levels"][-1])
    print(f"best at 100 % alone (not the rule; not judged held out): {at100['levels'][-1]:.2f}, "
          f"mean {at100['loaded']:.2f}: {at100['start']} {at100['how']} {at100['base']} "
          f"{', '.join(at100['names'])}")
    best = min(c["loaded"] for c in scored)
    pick = min((c for c in scored if c["loaded"] <= best + 0.5),
               key=lambda c: (len(c["names"]), c["loaded"]))
    print(f"shipped: CV {shipped['loaded']:.2f} (100 %: {shipped['levels'][-1]:.2f})")
    print(f"pick: {pick['start']} {pick['how']} {pick['base']} {', '.join(pick['names'])}: "
          f"CV {pick['loaded']:.2f} (100 %: {pick['levels'][-1]:.2f}); "
          + ("adopted" if pick["loaded"] <= shipped["loaded"] - 1 else
             "not adopted (less than 1 point below the shipped line)"))
    for name, c in (("shipped", shipped), ("pick", pick)):
        h = held_out(c)
        print(f"held out 2021-22, {name}: 10 % {h[0]:.1f}, 50 % {h[4]:.1f}, 90 % {h[8]:.1f}, "
              f"100 % {h[9]:.1f}, mean {statistics.fmean(h):.1f}")


if __name__ == "__main__":
    main()
