"""One headless Chromium per test module, shared by every crawl the module runs.

A crawl normally launches its own browser; here each crawl process connects to this one through
PRICEHOUND_RENDER_BROWSER_URL, so a module pays for one browser start. Each crawl still opens its
own contexts behind its own guarded proxy, exactly as with a browser of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from pricehound.config import Settings
from spiders.rendering import shared_browser_command
from tests.crawl.conftest import crawl, targets  # noqa: F401 - fixtures

CHROMIUM = Settings.from_env().chromium_path


def start_browser(user_data_dir: str) -> tuple[subprocess.Popen, str]:
    """A Chromium on a free DevTools port; (its process, its DevTools websocket URL)."""
    proc = subprocess.Popen(shared_browser_command(CHROMIUM, user_data_dir, 0), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        m = re.search(r"DevTools listening on (ws://\S+)", line)
        if m:
            # keep draining stderr so the browser never blocks on a full pipe
            import threading

            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError("Chromium did not start: " + "".join(lines)[-2000:])


@pytest.fixture(scope="module")
def browser_url() -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package "
                    "(or set PRICEHOUND_CHROMIUM_PATH)")
    with tempfile.TemporaryDirectory(prefix="pricehound-test-chromium-") as profile:
        proc, url = start_browser(profile)
        try:
            yield url
        finally:
            stop_browser(proc)


def stop_browser(proc: subprocess.Popen) -> None:
    """The browser and every process it started (its own process group, made at start)."""
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.fixture(scope="module")
def shops() -> Iterator:
    """The demo stores with the script-built shop among them."""
    from demostore import DemoStoreServer, demo_catalogue

    with DemoStoreServer(demo_catalogue(script_shop=True), slow_delay=0.05, timeout_hold=5.0) as server:
        yield server


@pytest.fixture()
def render_crawl(crawl, browser_url):  # noqa: F811 - the imported fixture
    """Crawl a run in a subprocess (tests/crawl's `crawl`), rendering in the module's browser."""

    def run(t, listing_ids=None, *settings: str, extra_env: dict[str, str] | None = None):
        return crawl(t, listing_ids, *settings,
                     extra_env={"PRICEHOUND_RENDER_BROWSER_URL": browser_url, "PRICEHOUND_RENDER_TIMEOUT": "8",
                                **(extra_env or {})})

    return run
