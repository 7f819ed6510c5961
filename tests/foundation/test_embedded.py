"""The embedded servers start, keep their data between runs, and stop with their last user."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import redis, sqlalchemy as sa
    from pricehound.config import Settings
    from pricehound import embedded
    from pricehound.db import get_engine, apply_schema
    s = embedded.resolve(Settings(data_dir=__import__('pathlib').Path(sys.argv[1])))
    eng = get_engine(s)
    apply_schema(eng)
    with eng.begin() as c:
        if sys.argv[2] == 'write':
            c.execute(sa.text("INSERT INTO stores (slug, name, allowed_domains) VALUES ('kept', 'Kept', '{kept.example}')"))
        stores = c.execute(sa.text("SELECT count(*) FROM stores")).scalar_one()
    r = redis.Redis.from_url(s.redis_url)
    if sys.argv[2] == 'write':
        r.set('kept', '1')
        r.save()
    print(json.dumps({"stores": stores, "redis": (r.get('kept') or b'').decode(), "pg": s.database_url}))
    """
)


def run(data_dir, mode):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-c", SCRIPT, str(data_dir), mode], env=env,
                          capture_output=True, text=True, timeout=180)


def postgres_running(data_dir) -> bool:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_embedded_servers_start_keep_data_and_stop(tmp_path):
    import json

    first = run(tmp_path, "write")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["stores"] == 1
    for _ in range(50):  # the last user has exited: the server shuts down
        if not postgres_running(tmp_path):
            break
        time.sleep(0.2)
    assert not postgres_running(tmp_path)
    from pricehound.embedded import _redis_answers, _redis_socket

    for _ in range(50):  # and so does Redis, having saved what it held
        if not _redis_answers(_redis_socket(tmp_path / "redis")):
            break
        time.sleep(0.2)
    assert not _redis_answers(_redis_socket(tmp_path / "redis"))
    second = run(tmp_path, "read")
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["stores"] == 1 and out["redis"] == "1"
