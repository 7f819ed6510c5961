"""What confirmation costs in latency: change -> SES accepted, with and without it, same run.

    .venv/bin/python bench/confirm_latency.py                  # 2 rounds of each, alternating
    .venv/bin/python bench/confirm_latency.py --rounds 3 --duration 180

Each round runs bench/load.py on a small demo-store pipeline (its own PostgreSQL, Redis, beat,
workers and SES stand-in) twice: once as shipped (a stock flip, a return or a large price move
is told only after a second reading agrees, read again at the next dispatch) and once with
``--no-confirm`` (told on the first reading). The runs alternate so that a machine getting
busier or quieter does not favour one side. Reported: each side's median over rounds of the
p50 / p95 / p99 change -> SES accepted latency, and LAST one JSON line whose ``ratio`` holds
confirmed / unconfirmed for each percentile (1.0: confirmation costs nothing). The issue's
goal is an absolute one: confirmation adds at most 30 s to p95 (``added_s.p95``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOAD = REPO_ROOT / "bench" / "load.py"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--stores", type=int, default=4)
    p.add_argument("--products", type=int, default=100, help="products (listings) per store")
    p.add_argument("--watches", type=int, default=2000)
    p.add_argument("--duration", type=float, default=150.0, help="seconds of load per run")
    p.add_argument("--warmup", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=30.0, help="seconds between crawls of one listing")
    p.add_argument("--change-rate", type=float, default=1.0, help="product changes per second")
    return p.parse_args()


def one_run(args: argparse.Namespace, *, confirm: bool, seed: int) -> dict:
    cmd = [sys.executable, str(LOAD), "--stores", str(args.stores), "--products", str(args.products),
           "--watches", str(args.watches), "--duration", str(args.duration), "--warmup", str(args.warmup),
           "--interval", str(args.interval), "--change-rate", str(args.change_rate), "--seed", str(seed),
           "--crawl-concurrency", "1", "--alert-concurrency", "1", "--sample", "30"]
    if not confirm:
        cmd.append("--no-confirm")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"bench/load.py failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])["latency_s"]


def main() -> None:
    args = parse_args()
    runs: dict[bool, list[dict]] = {True: [], False: []}
    for i in range(args.rounds):
        for confirm in ((True, False) if i % 2 == 0 else (False, True)):
            latency = one_run(args, confirm=confirm, seed=i)
            runs[confirm].append(latency)
            print(f"round {i + 1} {'confirmed' if confirm else 'unconfirmed'}: n={latency['n']} "
                  f"p50 {latency['p50']} s, p95 {latency['p95']} s, p99 {latency['p99']} s", flush=True)

    def median(confirm: bool, q: str) -> float:
        return statistics.median(r[q] for r in runs[confirm] if r[q] is not None)

    with_, without = ({q: median(c, q) for q in ("p50", "p95", "p99")} for c in (True, False))
    print(json.dumps({
        "bench": "confirm_latency", "rounds": args.rounds, "confirmed_s": with_, "unconfirmed_s": without,
        "added_s": {q: round(with_[q] - without[q], 2) for q in with_},
        "ratio": {q: round(with_[q] / without[q], 3) if without[q] else None for q in with_},
    }), flush=True)


if __name__ == "__main__":
    main()
