"""Extraction speed: time `extract_product` per page over two page sets.

- real: the labelled real pages (../shared/realpages/pages/*.html)
- demo: product pages of the local demo stores (all six shapes), fetched once over HTTP from a
  DemoStoreServer on 127.0.0.1 (port 0), then timed in memory

For each set it reports p50 / p95 / p99 / mean milliseconds per page for `extract_product`, and
as a baseline in the same run the same figures for bare `lxml.html.fromstring` on the same bytes;
`ratio` = baseline p50 / extraction p50 (higher is better: 1.0 would mean extraction costs no
more than parsing).  Per-shape p50 for the demo set is printed too.

Times are the CPU time of the timing thread by default (`--clock cpu`, time.thread_time), so
that other work on a shared machine does not inflate them; `--clock wall` uses perf_counter.
Each page's figure is the best of `--repeat` runs.

`--cold` clears the chain's memo caches (short texts already read as money) before every timed
run, as for a page seen for the first time; by default they stay warm, as in a long crawl of one
store.  `--stages` adds, per set, where the time goes: the mean CPU per page spent in each stage
of the chain (decode, parse, meta, JSON-LD, microdata, pruning, the visible analysis, scoring,
stock, ...), each stage's own time without the stages it calls.  It is measured in a separate
pass, with wrappers around the stage functions, so it does not touch the figures above.

Usage:  .venv/bin/python bench/extraction_speed.py [--pages DIR] [--demo-stores N]
            [--demo-products N] [--repeat N] [--cold] [--stages] [--quiet]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PAGES = os.path.join(os.path.dirname(ROOT), "shared", "realpages")
sys.path.insert(0, ROOT)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return 0.0
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _figures(ms: list[float]) -> dict:
    return {"n": len(ms), "p50": round(_pct(ms, 0.50), 3), "p95": round(_pct(ms, 0.95), 3),
            "p99": round(_pct(ms, 0.99), 3), "mean": round(statistics.fmean(ms), 3) if ms else 0.0}


def load_real(pages_dir: str) -> list[tuple[str, bytes, str | None, str]]:
    labels_path = os.path.join(pages_dir, "labels.jsonl")
    out = []
    with open(labels_path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            lab = json.loads(line)
            with open(os.path.join(pages_dir, "pages", lab["id"] + ".html"), "rb") as page:
                out.append((lab["id"], page.read(), lab.get("url"), lab["id"].split("-")[0]))
    return out


def load_demo(n_stores: int, per_store: int) -> list[tuple[str, bytes, str | None, str]]:
    from demostore import DemoStoreServer, make_catalogue

    catalogue = make_catalogue(n_stores, per_store, seed=7)
    out = []
    with DemoStoreServer(catalogue) as shops:
        for store in catalogue:
            for product in store.products:
                url = shops.product_url(store.slug, product.id)
                with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback only
                    body = resp.read()
                out.append((f"{store.slug}/{product.id}", body, url, store.shape))
    return out


def _clear_caches() -> None:
    """Forget what earlier pages taught the chain's memo caches (a page seen for the first time):
    every functools cache in the extraction modules."""
    import importlib
    import pkgutil

    import spiders.extraction as package

    for info in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(mod).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


def time_set(pages, repeat: int, clock=time.thread_time, cold: bool = False
             ) -> tuple[list[float], list[float], dict]:
    """Per-page milliseconds (the best of `repeat` runs of each page) for extraction and parsing."""
    import lxml.html

    from spiders.extraction import extract_product

    ext_ms: list[float] = []
    base_ms: list[float] = []
    by_group: dict[str, list[float]] = {}
    for _pid, body, url, group in pages:
        extract_product(body, url)  # warm caches and regexes, as in a long crawl
        best_e = best_b = float("inf")
        for _ in range(repeat):
            if cold:
                _clear_caches()
            t0 = clock()
            extract_product(body, url)
            t1 = clock()
            lxml.html.fromstring(body)
            t2 = clock()
            best_e = min(best_e, t1 - t0)
            best_b = min(best_b, t2 - t1)
        ext_ms.append(best_e * 1000)
        base_ms.append(best_b * 1000)
        by_group.setdefault(group, []).append(best_e * 1000)
    return ext_ms, base_ms, by_group


# (module, attribute, stage name): the functions the chain calls through a module attribute, so
# that replacing the attribute puts a timer around every call
STAGES = (
    ("spiders.extraction.chain", "decode", "decode"),
    ("spiders.extraction.chain", "parse", "parse"),
    ("spiders.extraction.meta", "read_meta", "meta"),
    ("spiders.extraction.meta", "extract", "meta"),
    ("spiders.extraction.jsonld", "load_scripts", "json-ld"),
    ("spiders.extraction.jsonld", "extract", "json-ld"),
    ("spiders.extraction.microdata", "extract_microdata", "microdata"),
    ("spiders.extraction.microdata", "extract_rdfa", "rdfa"),
    ("spiders.extraction.chain", "scan", "scan + prune"),
    ("spiders.extraction.chain", "prune_invisible", "scan + prune"),
    ("spiders.extraction.chain", "_first_h1", "h1"),
    ("spiders.extraction.chain", "_fast", "fast path (box search)"),
    ("spiders.extraction.visible", "find_title", "title"),
    ("spiders.extraction.visible", "analyse", "visible analysis"),
    ("spiders.extraction.visible", "score_candidates", "scoring"),
    ("spiders.extraction.chain", "_availability", "stock"),
    ("spiders.extraction.chain", "_regular_price", "regular price"),
    ("spiders.extraction.chain", "_visible_anywhere", "price anywhere"),
    ("spiders.extraction.visible", "grid_cards", "page kind"),
    ("spiders.extraction.chain", "_focus", "page kind"),
    ("spiders.extraction.pagekind", "is_challenge", "challenge"),
)


def stage_times(pages, clock=time.thread_time) -> dict[str, float]:
    """Mean CPU ms per page in each stage, exclusive of the stages it calls (one pass, warm)."""
    import importlib

    from spiders.extraction import extract_product

    totals: dict[str, float] = {}
    stack: list[list] = []  # [stage, started, time spent in stages it called]

    def wrap(fn, stage):
        def timed(*args, **kwargs):
            stack.append([stage, clock(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, t0, inner = stack.pop()
                spent = clock() - t0
                totals[name] = totals.get(name, 0.0) + spent - inner
                if stack:
                    stack[-1][2] += spent
        return timed

    saved = []
    for mod_name, attr, stage in STAGES:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, attr, None)
        if fn is None:
            continue
        saved.append((mod, attr, fn))
        setattr(mod, attr, wrap(fn, stage))
    try:
        for _pid, body, url, _group in pages:
            extract_product(body, url)  # warm, as for the timed figures
        totals.clear()
        t_all = 0.0
        for _pid, body, url, _group in pages:
            stack.append(["other", clock(), 0.0])
            extract_product(body, url)
            name, t0, inner = stack.pop()
            spent = clock() - t0
            totals[name] = totals.get(name, 0.0) + spent - inner
            t_all += spent
    finally:
        for mod, attr, fn in saved:
            setattr(mod, attr, fn)
    n = max(len(pages), 1)
    out = {k: round(v * 1000 / n, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    out["total"] = round(t_all * 1000 / n, 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=DEFAULT_PAGES, help="folder with labels.jsonl and pages/")
    ap.add_argument("--demo-stores", type=int, default=12, help="demo stores (shapes cycle)")
    ap.add_argument("--demo-products", type=int, default=25, help="products per demo store")
    ap.add_argument("--repeat", type=int, default=3, help="runs per page; the best counts")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu: thread CPU time (default); wall: perf_counter")
    ap.add_argument("--cold", action="store_true",
                    help="clear the memo caches before every timed run (pages seen for the first time)")
    ap.add_argument("--stages", action="store_true", help="also report mean CPU per page by stage")
    ap.add_argument("--quiet", action="store_true", help="only the summary")
    args = ap.parse_args(argv)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter

    sets = {}
    if os.path.exists(os.path.join(args.pages, "labels.jsonl")):
        sets["real"] = load_real(args.pages)
    sets["demo"] = load_demo(args.demo_stores, args.demo_products)

    summary: dict = {"clock": args.clock, "repeat": args.repeat, "cold": args.cold}
    gc.collect()
    for name, pages in sets.items():
        ext, base, groups = time_set(pages, args.repeat, clock, cold=args.cold)
        fe, fb = _figures(ext), _figures(base)
        ratio = round(fb["p50"] / fe["p50"], 4) if fe["p50"] else None
        summary[name] = {"extract": fe, "baseline_parse": fb, "ratio": ratio,
                         "groups_p50": {g: round(_pct(v, 0.5), 3) for g, v in sorted(groups.items())}}
        if not args.quiet:
            print(f"{name:<5} pages={fe['n']:<4} extract ms p50={fe['p50']:.2f} p95={fe['p95']:.2f} "
                  f"p99={fe['p99']:.2f} mean={fe['mean']:.2f} | lxml.html.fromstring p50={fb['p50']:.2f} "
                  f"p95={fb['p95']:.2f} | ratio={ratio}")
            print("      p50 by group: " + ", ".join(f"{g}={v:.2f}" for g, v in summary[name]["groups_p50"].items()))
        if args.stages:
            summary[name]["stages_mean_ms"] = st = stage_times(pages, clock)
            if not args.quiet:
                print("      mean ms by stage: " + ", ".join(f"{k}={v:.3f}" for k, v in st.items()))
    first = summary.get("real") or summary["demo"]
    summary["ratio"] = first["ratio"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
