"""How long a command takes on the embedded default, against a bare interpreter in the same run.

    .venv/bin/python bench/cli_latency.py                 # 15 runs of each
    .venv/bin/python bench/cli_latency.py --runs 30 --command status

Three kinds of run of ``pricehound COMMAND`` (default: ``status``, which reads PostgreSQL and
Redis), with no DATABASE_URL/REDIS_URL, in a fresh data directory:

- baseline: ``python -c pass`` (what any command costs before it does anything);
- attach: another process holds the embedded servers, so the command attaches to them;
- start: nothing runs, so the command starts both servers and stops them again when it ends.

Reported: p50/p95/p99 seconds of each, and LAST one JSON line whose ``ratio`` holds attach /
baseline and start / baseline per percentile. The issue's goals are absolute: attach under 1 s,
start under 3 s (``goals``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

HOLD = """
import sys, time
from pricehound import embedded
from pricehound.config import get_settings
embedded.resolve(get_settings())
print("ready", flush=True)
sys.stdin.read()
embedded.stop()
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return took


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--command", default="status", help="the pricehound command to time (default: status)")
    args = p.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="pricehound-cli-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRICEHOUND_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "pricehound.cli", *args.command.split()]
    timed([sys.executable, "-m", "pricehound.cli", "initdb"], env)  # first start: initdb of the cluster

    samples: dict[str, list[float]] = {"baseline": [], "attach": [], "start": []}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], env=env, cwd=REPO_ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for _ in range(args.runs):  # interleaved, so a busier moment does not favour one side
            samples["baseline"].append(timed([sys.executable, "-c", "pass"], env))
            samples["attach"].append(timed(command, env))
    finally:
        holder.communicate("", timeout=60)
    for _ in range(args.runs):
        samples["start"].append(timed(command, env))

    result = {name: percentiles(values) for name, values in samples.items()}
    for name, values in result.items():
        print(f"{name:<9} p50 {values['p50']:.3f} s  p95 {values['p95']:.3f} s  p99 {values['p99']:.3f} s")
    ratio = {side: {q: round(result[side][q] / max(result["baseline"][q], 1e-9), 1) for q in ("p50", "p95", "p99")}
             for side in ("attach", "start")}
    goals = {"attach_p95_under_1s": result["attach"]["p95"] < 1.0,
             "start_p95_under_3s": result["start"]["p95"] < 3.0}
    print(json.dumps({"bench": "cli_latency", "command": args.command, "runs": args.runs, "seconds": result,
                      "ratio": ratio, "goals": goals}))


if __name__ == "__main__":
    main()
