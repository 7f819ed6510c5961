"""Rendering cost: pages read through headless Chromium against plain fetching of the same shop.

Serves the same products twice on 127.0.0.1: once as a server-rendered shop (plain HTML with the
price in the page) and once as a script-built shop (an app shell whose script fetches the product
from a JSON endpoint, demostore.script_store). Each round crawls, one `python -m spiders.run`
process each, on a throwaway database:

- plain:    the server-rendered shop, fetched as served (the baseline);
- rendered: the same server-rendered shop with --render js (same pages, same readings: the
            difference is the browser);
- script:   the script-built shop with --render js (what rendering is for).

CPU is everything the crawl cost on this machine: this process is a child subreaper, so the crawl
process, its page readers, Playwright's driver and every Chromium process are reaped here and
their CPU lands in RUSAGE_CHILDREN. The demo store (threads of this process) is measured apart.
Memory: the browser's peak PSS and RSS (spiders/rendering.py, summed over its processes) against
the ceiling (PRICEHOUND_RENDER_MEMORY_MB), and how often the pool recycled a context for it.

Usage:  .venv/bin/python bench/render.py [--pages 40] [--rounds 3] [--contexts 2] [--ceiling-mb 1024]
The last line printed is one JSON object; "ratio" = CPU per page rendered / CPU per page plain
(same shop; goal <= 10), medians over the rounds.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SAME_SETTINGS = ("AUTOTHROTTLE_ENABLED=false", "DOWNLOAD_DELAY=0", "LOG_LEVEL=WARNING")
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphaned descendants (Chromium's processes) are re-parented here, so their CPU is counted."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap() -> None:
    """Wait for every exited descendant (a little while for the browser's last processes)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_shops(pages: int):
    """The same products as a server-rendered shop and as a script-built one."""
    import copy

    from demostore import Store, script_store

    script = script_store(faults=False, count=pages)
    static = Store(slug="lumenstatic", name="Lumen Labs", currency="USD", locale="en_US", shape="plain",
                   products=copy.deepcopy(script.products))
    return static, script


def crawl(engine, env: dict, shops, store, render: bool, contexts: int) -> dict:
    from pricehound import catalog

    urls = [shops.product_url(store.slug, p.id) for p in store.products]
    slug = f"{store.slug}-{'js' if render else 'plain'}-{uuid.uuid4().hex[:4]}"
    with engine.begin() as conn:
        row = catalog.add_store(conn, slug=slug, name=store.name, domains=[f"127.0.0.1:{shops.port(store.slug)}"],
                                currency=store.currency, delay=0, concurrency=contexts, is_local=True)
        if render:
            catalog.set_render(conn, row, "js")
        ids = [int(conn.execute(sa.text("INSERT INTO store_listings (store_id, url) VALUES (:s, :u) RETURNING id"),
                                {"s": row.id, "u": u}).scalar()) for u in urls]
        run_id = int(conn.execute(sa.text("INSERT INTO crawl_runs (store_id, listing_ids) VALUES (:s, :l) RETURNING id"),
                                  {"s": row.id, "l": ids}).scalar())
    cmd = [sys.executable, "-m", "spiders.run", str(run_id), *sum((["-s", s] for s in SAME_SETTINGS), [])]
    before, server_before, started = children_cpu(), own_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    reap()
    wall = time.perf_counter() - started
    cpu, server = children_cpu() - before, own_cpu() - server_before
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"crawl of {slug} failed")
    with engine.connect() as conn:
        run = conn.execute(sa.text("SELECT ok, failed, stats FROM crawl_runs WHERE id = :r"), {"r": run_id}).one()
    stats = run.stats
    return {"pages": len(urls), "ok": run.ok, "failed": run.failed, "wall_s": wall,
            "crawl_s": float(stats["elapsed_time_seconds"]), "cpu_s": cpu, "server_cpu_s": server,
            "peak_pss": int(stats.get("pricehound/render/peak_pss_bytes") or 0),
            "peak_rss": int(stats.get("pricehound/render/peak_rss_bytes") or 0),
            "recycled": int(stats.get("pricehound/render/recycled") or 0)}


def one_round(args, shops, static, script, round_no: int) -> dict:
    from pricehound.db import apply_schema, normalise_url

    name = f"pricehound_bench_render_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(args.admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db_url = sa.engine.make_url(normalise_url(args.admin_url)).set(database=name).render_as_string(
        hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    engine = sa.create_engine(normalise_url(db_url))
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": ROOT, "PRICEHOUND_LOG_LEVEL": "WARNING",
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
           "PRICEHOUND_RENDER_CONTEXTS": str(args.contexts), "PRICEHOUND_RENDER_MEMORY_MB": str(args.ceiling_mb)}
    out = {}
    try:
        apply_schema(engine)
        sides = [("plain", static, False), ("rendered", static, True), ("script", script, True)]
        if round_no % 2:
            sides.reverse()  # neither side always runs on a warmer machine
        for label, store, render in sides:
            out[label] = crawl(engine, env, shops, store, render, args.contexts)
            r = out[label]
            print(f"round {round_no + 1} {label:8s}: {r['ok']}/{r['pages']} ok, {r['pages'] / r['crawl_s']:6.2f} pages/s, "
                  f"{1000 * r['cpu_s'] / r['pages']:7.1f} ms CPU/page, browser peak PSS "
                  f"{r['peak_pss'] / 2**20:6.0f} MiB (RSS {r['peak_rss'] / 2**20:.0f} MiB), recycled {r['recycled']}",
                  flush=True)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="products per shop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contexts", type=int, default=2, help="browser contexts (and store concurrency)")
    parser.add_argument("--ceiling-mb", type=int, default=1024, help="PRICEHOUND_RENDER_MEMORY_MB")
    parser.add_argument("--admin-url", default=os.environ.get("PRICEHOUND_BENCH_PG_ADMIN_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    become_subreaper()
    from demostore import DemoStoreServer

    static, script = make_shops(args.pages)
    rounds = []
    with DemoStoreServer([static, script]) as shops:
        for n in range(max(1, args.rounds)):
            rounds.append(one_round(args, shops, static, script, n))

    def med(label: str, key: str, per_page: bool = False) -> float:
        values = [r[label][key] / (r[label]["pages"] if per_page else 1) for r in rounds]
        return statistics.median(values)

    summary = {}
    for label in ("plain", "rendered", "script"):
        summary[label] = {
            "ok_pages": int(med(label, "ok")), "pages": rounds[0][label]["pages"],
            "pages_per_s": round(statistics.median(r[label]["pages"] / r[label]["crawl_s"] for r in rounds), 2),
            "cpu_ms_per_page": round(1000 * med(label, "cpu_s", per_page=True), 1),
            "server_cpu_ms_per_page": round(1000 * med(label, "server_cpu_s", per_page=True), 1),
            "browser_peak_pss_mib": round(med(label, "peak_pss") / 2**20),
            "browser_peak_rss_mib": round(med(label, "peak_rss") / 2**20),
            "recycled": int(med(label, "recycled")),
        }
    ratio = summary["rendered"]["cpu_ms_per_page"] / summary["plain"]["cpu_ms_per_page"]
    script_ratio = summary["script"]["cpu_ms_per_page"] / summary["plain"]["cpu_ms_per_page"]
    peak = max(summary["rendered"]["browser_peak_pss_mib"], summary["script"]["browser_peak_pss_mib"])
    print(f"CPU per page, rendered / plain (same shop): {ratio:.2f}x (goal <= 10); script-built shop "
          f"rendered / plain: {script_ratio:.2f}x; pages/s plain {summary['plain']['pages_per_s']}, rendered "
          f"{summary['rendered']['pages_per_s']}, script {summary['script']['pages_per_s']}; browser peak PSS "
          f"{peak} MiB of a {args.ceiling_mb} MiB ceiling (medians of {len(rounds)} rounds; 2 shared cores)")
    print(json.dumps({"bench": "render", "pages": args.pages, "contexts": args.contexts, "rounds": len(rounds),
                      "ceiling_mib": args.ceiling_mb, "ratio": round(ratio, 2), "script_ratio": round(script_ratio, 2),
                      "peak_pss_mib": peak, **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
