"""Importing a stage's package (and every module in it) starts no server and connects to nothing.

Each package is imported in a fresh interpreter with neither DATABASE_URL nor REDIS_URL set, so
anything that resolved the broker or the database at import time would start the embedded
servers under the data directory. Socket connections and new processes are recorded, not
refused, so an import that swallows errors still shows up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PROBE = r"""
import importlib, json, pkgutil, socket, subprocess, sys

seen = {"connect": [], "process": []}
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_popen = subprocess.Popen.__init__

def connect(self, address, *a, **k):
    seen["connect"].append(repr(address))
    return _connect(self, address, *a, **k)

def connect_ex(self, address, *a, **k):
    seen["connect"].append(repr(address))
    return _connect_ex(self, address, *a, **k)

def popen(self, args, *a, **k):
    seen["process"].append(repr(args)[:200])
    return _popen(self, args, *a, **k)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
subprocess.Popen.__init__ = popen

package = importlib.import_module(sys.argv[1])
modules = [sys.argv[1]]
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue
    importlib.import_module(info.name)
    modules.append(info.name)
print(json.dumps({**seen, "modules": modules}))
"""


@pytest.mark.parametrize("package", ["workers", "alerts", "pipelines", "web"])
def test_importing_a_package_starts_no_server_and_connects_to_nothing(package, tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRICEHOUND_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRICEHOUND_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE, package], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report["modules"]) > 1, report  # the whole package was walked, not just its root
    assert report["connect"] == [], report
    assert report["process"] == [], report
    # the embedded servers live under the data directory: nothing was created there
    assert not data_dir.exists() or not any(data_dir.iterdir()), sorted(p.name for p in data_dir.iterdir())
