"""Web latency: 100 concurrent clients against the HTTP service on a real uvicorn server.

Seeds one user with 1,000 watches (each with a current price and a price history) on a
throwaway database this script creates on 127.0.0.1:5432 and drops afterwards (or on the
embedded PostgreSQL when no server answers there), starts `web.app:create_app` under uvicorn in
a child process on 127.0.0.1 (port chosen by the OS), and drives it with N concurrent
keep-alive clients (closed loop: each sends its next request when the last one answered):

- baseline: GET /healthz (one `SELECT 1` and one Redis PING on the same server);
- watches:  GET /v1/watches as the signed-in user (the default page of 50 of the 1,000);
- watches_200: GET /v1/watches?limit=200 (the largest page);
- unsubscribe: the RFC 8058 one-click POST (form body, no cookies), one token per watch.

Reports requests, errors, throughput (requests/s) and p50/p95/p99 latency (ms) per endpoint;
`ratio` = each endpoint's p95 / the baseline's p95 (and throughput / baseline throughput).

Usage:  .venv/bin/python bench/web_latency.py [--clients 100] [--seconds 10] [--workers 1] [--think 0]
                                              [--admin-url URL] [--redis-url URL]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pricehound.config import Settings  # noqa: E402
from pricehound.db import apply_schema, normalise_url  # noqa: E402

WATCHES = 1000
STORE_HOST = "127.0.0.1:9"

SEED_SQL = """
INSERT INTO stores (slug, name, allowed_domains, is_local, default_currency)
VALUES ('bench', 'Bench Store', ARRAY[:host], true, 'EUR');
INSERT INTO users (email, name, verified_at) VALUES ('bench@example.com', 'Bench', pricehound_now());
INSERT INTO shopping_lists (user_id, name) VALUES (1, 'Watching');
INSERT INTO store_listings (store_id, url, title, status, first_seen_at)
SELECT 1, 'http://' || :host || '/p/' || g, 'Product ' || g, 'active', pricehound_now()
  FROM generate_series(1, :n) g;
INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at)
SELECT g, 20 + (g % 300), 'EUR', 'in_stock', pricehound_now(), pricehound_now() - interval '2 days' FROM generate_series(1, :n) g;
INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability)
SELECT g, pricehound_now() - make_interval(days => d * 20), 20 + (g % 300) + d, 'EUR', 'in_stock'
  FROM generate_series(1, :n) g, generate_series(0, 4) d;
INSERT INTO shopping_list_items (list_id, listing_id, target_price)
SELECT 1, g, 15 + (g % 300) FROM generate_series(1, :n) g;
"""


# -- the server, in its own process ---------------------------------------------------------------

def serve(port_file: str, workers: int) -> None:
    """Child mode: bind 127.0.0.1:0, write the port, serve create_app() (settings from the env)."""
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    with open(port_file, "w") as fh:
        fh.write(str(sock.getsockname()[1]))
    config = uvicorn.Config("web.app:create_app", factory=True, log_level="warning", access_log=False,
                            workers=workers)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, int]:
    port_file = os.path.join(env["PRICEHOUND_DATA_DIR"], f"port-{uuid.uuid4().hex[:6]}")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", port_file,
                             "--workers", str(workers)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while not (os.path.exists(port_file) and open(port_file).read().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    port = int(open(port_file).read())
    import httpx

    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not answer /healthz")
        time.sleep(0.1)


# -- the load -------------------------------------------------------------------------------------

async def drive(base: str, clients: int, seconds: float, make_request, think: float = 0.0) -> dict:
    """``clients`` tasks, each on its own keep-alive connection, for ``seconds``. With ``think``
    0 each sends its next request as soon as the last answered (closed loop: the server is kept
    saturated); otherwise it pauses think x U(0.5, 1.5) seconds in between, like a person."""
    import aiohttp

    rng = random.Random(7)

    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + seconds

    async def one_client(index: int) -> None:
        nonlocal errors
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        async with aiohttp.ClientSession(base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
            n = index
            if think > 0:  # arrive spread out, not as one burst
                await asyncio.sleep(think * rng.random())
            while time.perf_counter() < stop_at:
                method, path, kwargs = make_request(n)
                n += clients
                started = time.perf_counter()
                try:
                    async with session.request(method, path, **kwargs) as response:
                        await response.read()
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                        if response.status >= 400:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if think > 0:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))

    started = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 1)

    return {"requests": len(latencies), "errors": errors, "statuses": statuses,
            "throughput": round(len(latencies) / elapsed, 1),
            "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None}


# -- database -------------------------------------------------------------------------------------

def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def seed(url: str, settings: Settings) -> tuple[str, list[str]]:
    """Seed the user and watches; return a session cookie value and one unsubscribe token per watch."""
    from pricehound import tokens
    from web.security import open_session

    engine = sa.create_engine(normalise_url(url))
    apply_schema(engine)
    with engine.begin() as conn:
        for statement in filter(str.strip, SEED_SQL.split(";\n")):
            conn.execute(sa.text(statement), {"host": STORE_HOST, "n": WATCHES})
        cookie = open_session(conn, 1)
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    unsubscribe = [tokens.sign("unsubscribe", {"u": 1, "w": w}, settings.signing_secret, max_age=3600)
                   for w in range(1, WATCHES + 1)]
    return cookie, unsubscribe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds each client waits between requests (0: closed loop, saturating)")
    parser.add_argument("--admin-url", default=os.environ.get("PRICEHOUND_BENCH_PG_ADMIN_URL"),
                        help="a PostgreSQL maintenance database (default: 127.0.0.1:5432, else embedded)")
    parser.add_argument("--redis-url", default=os.environ.get("PRICEHOUND_BENCH_REDIS_URL"),
                        help="Redis for sessions' rate limits (default: 127.0.0.1:6379/15, else embedded)")
    parser.add_argument("--serve", metavar="PORT_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workers)
        return 0

    import tempfile

    data_dir = tempfile.mkdtemp(prefix="pricehound-bench-")
    admin = args.admin_url or ("postgresql://postgres@127.0.0.1:5432/postgres"
                               if _port_open("127.0.0.1", 5432) else None)
    redis_url = args.redis_url or ("redis://127.0.0.1:6379/15" if _port_open("127.0.0.1", 6379) else None)
    name = f"pricehound_bench_web_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = None
    if admin:
        admin_engine = sa.create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(normalise_url(admin)).set(database=name).render_as_string(hide_password=False)
        url = url.replace("postgresql+psycopg2://", "postgresql://")
    else:
        from pricehound import embedded

        url = embedded.postgres_url(__import__("pathlib").Path(data_dir))
    settings = Settings(database_url=url, redis_url=redis_url, secret_key=uuid.uuid4().hex * 2,
                        data_dir=__import__("pathlib").Path(data_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRICEHOUND_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=url, PRICEHOUND_SECRET_KEY=settings.secret_key, PRICEHOUND_DATA_DIR=data_dir,
               PRICEHOUND_LOG_LEVEL="WARNING", PYTHONPATH=ROOT)
    if redis_url:
        env["REDIS_URL"] = redis_url
    proc = None
    try:
        cookie, unsubscribe_tokens = seed(url, settings)
        proc, port = start_server(env, args.workers)
        load_at_start = os.getloadavg()  # the machine is shared: read figures against this
        base = f"http://127.0.0.1:{port}"
        session_header = {"Cookie": f"ph_session={cookie}"}
        plans = {
            "baseline": lambda n: ("GET", "/healthz", {}),
            "watches": lambda n: ("GET", "/v1/watches", {"headers": session_header}),
            "watches_200": lambda n: ("GET", "/v1/watches?limit=200", {"headers": session_header}),
            "unsubscribe": lambda n: ("POST", f"/unsubscribe?token={unsubscribe_tokens[n % WATCHES]}",
                                      {"data": {"List-Unsubscribe": "One-Click"}}),
        }
        results = {}
        for label, plan in plans.items():
            asyncio.run(drive(base, min(args.clients, 10), 1.0, plan))  # warm connections and caches
            results[label] = asyncio.run(drive(base, args.clients, args.seconds, plan, args.think))
            if not args.quiet:
                r = results[label]
                print(f"{label:<12} {r['requests']:>7} req  {r['throughput']:>8.1f}/s  p50 {r['p50']:>7.1f} ms  "
                      f"p95 {r['p95']:>7.1f} ms  p99 {r['p99']:>7.1f} ms  errors {r['errors']}", file=sys.stderr)
        base_p95, base_rps = results["baseline"]["p95"], results["baseline"]["throughput"]
        ratio = {label: {"p95": round(r["p95"] / base_p95, 2) if base_p95 else None,
                         "throughput": round(r["throughput"] / base_rps, 2) if base_rps else None}
                 for label, r in results.items() if label != "baseline"}
        summary = {"benchmark": "web_latency", "clients": args.clients, "seconds": args.seconds,
                   "workers": args.workers, "think_seconds": args.think, "watches": WATCHES, "cpus": os.cpu_count(),
                   "database": "127.0.0.1:5432" if admin else "embedded",
                   "load_average_at_start": [round(x, 1) for x in load_at_start],
                   "endpoints": results, "ratio": ratio,
                   "target_p95_ms": 200,
                   "meets_target": {k: results[k]["p95"] < 200 for k in ("watches", "unsubscribe")}}
        print(json.dumps(summary))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin_engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
