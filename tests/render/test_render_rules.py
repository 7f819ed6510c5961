"""The rendering rules without a browser: the advice to render, how a browser failure is recorded,
the settings a store's row turns into, and `stores add/edit --render`."""

from __future__ import annotations

import pytest
from scrapy.http import Request
from twisted.python.failure import Failure

from pricehound import catalog, cli
from pricehound.config import ConfigError, Settings
from spiders import render_advice
from spiders.base import failure_reason
from spiders.extraction import extract_product
from spiders.rendering import BrowserPool, RenderFailed, _Slot
from spiders.settings import crawl_settings
from spiders.targets import CrawlRun, StoreConfig

SHELL = (b'<!DOCTYPE html><html><head><title>Shop</title><script src="/app.js" defer></script></head>'
         b'<body><div id="root"></div></body></html>')
SCRIPTED = (b"<html><head><title>Shop</title></head><body><h1>Welcome</h1>" + b"<p>Lots of words here.</p>" * 30
            + b'<script>window.dataLayer = [];</script></body></html>')
DATA_ONLY = SCRIPTED.replace(b"<script>", b'<script type="application/json">')


def _stats(shells=0, scripted=0, read=0) -> dict:
    return {render_advice.APP_SHELL: shells, render_advice.SCRIPTS_WITHOUT_PRODUCT: scripted,
            render_advice.PAGES_READ: read}


def test_app_shells_and_script_pages_without_product_data_are_counted_as_evidence():
    assert render_advice.page_evidence(extract_product(SHELL, "http://s.example/p/1"), SHELL) == render_advice.APP_SHELL
    scripted = extract_product(SCRIPTED, "http://s.example/p/1")
    assert scripted.page_reason == "no_product_evidence"
    assert render_advice.page_evidence(scripted, SCRIPTED) == render_advice.SCRIPTS_WITHOUT_PRODUCT
    assert render_advice.page_evidence(extract_product(DATA_ONLY, "http://s.example/p/1"), DATA_ONLY) is None, \
        "a data block is no script"


@pytest.mark.parametrize("stats, rule", [
    (_stats(shells=5, read=6), "render.app_shells"),
    (_stats(shells=1, scripted=3, read=6), "render.scripts_without_product"),
    (_stats(shells=1, read=10), None),  # one odd page is a broken page, not how the store is built
    (_stats(read=10), None),
])
def test_the_advice_to_render_names_its_rule_and_the_command(stats, rule):
    said = render_advice.advice(stats, "acme")
    if rule is None:
        assert said is None
    else:
        assert f"({rule})" in said and "pricehound stores edit acme --render js" in said


def test_a_store_that_renders_gets_no_advice():
    assert render_advice.advice(_stats(shells=5, read=5), "acme", render="js") is None


@pytest.mark.parametrize("exc, reason", [
    (RenderFailed("render_timeout", "no product data within 15 s"), "render_timeout"),
    (RenderFailed("browser_crash", "Target crashed"), "browser_crash"),
])
def test_a_browser_failure_is_a_failed_observation_with_its_reason(exc, reason):
    failure = Failure(exc)
    failure.request = Request("http://shop.example/p/1")
    assert failure_reason(failure) == reason


@pytest.mark.parametrize("message, reason", [
    ("Page.goto: Target crashed", "browser_crash"),
    ("Page.goto: Target page, context or browser has been closed", "browser_crash"),
    ("Page.goto: net::ERR_TIMED_OUT at http://shop.example/p/1", "render_timeout"),
    ("Page.goto: net::ERR_CONNECTION_REFUSED at http://shop.example/p/1", "connection_error"),
    ("Page.goto: net::ERR_BLOCKED_BY_CLIENT at http://shop.example/p/1", "blocked_url"),
])
def test_playwright_errors_are_sorted_into_observation_reasons(message, reason):
    class Connected:
        def is_connected(self) -> bool:
            return True

    class Proxy:
        refusals: dict = {}

    pool = BrowserPool(proxy=Proxy(), reader=None)
    pool._browser = Connected()
    exc = pool._failure(_Slot(context=None, page=None), "http://shop.example/p/1", Exception(message))
    failure = Failure(exc)
    failure.request = Request("http://shop.example/p/1")
    assert failure_reason(failure) == reason


def _store(render: str, concurrency: int = 4) -> StoreConfig:
    return StoreConfig(id=1, slug="s", spider="generic", allowed_domains=("shop.example",), default_currency="USD",
                       download_delay=0, concurrency=concurrency, render=render)


def test_only_a_store_marked_js_renders_and_never_with_more_contexts_than_its_concurrency():
    config = Settings(render_contexts=3, render_memory_mb=512, render_block=("image", "stylesheet"))
    on = crawl_settings(CrawlRun(1, "queued", _store("js", concurrency=2), ()), config)
    assert on["PRICEHOUND_RENDER"] is True and on["PRICEHOUND_RENDER_CONTEXTS"] == 2
    assert on["PRICEHOUND_RENDER_MEMORY_BYTES"] == 512 * 2**20
    assert on["PRICEHOUND_RENDER_BLOCK"] == ["image", "stylesheet"]
    assert crawl_settings(CrawlRun(1, "queued", _store("none"), ()), config)["PRICEHOUND_RENDER"] is False


def test_blocked_resource_types_are_checked_and_the_document_cannot_be_blocked():
    assert Settings.from_env({"PRICEHOUND_RENDER_BLOCK": "image, font"}).render_block == ("image", "font")
    for bad in ("document", "pictures"):
        with pytest.raises(ConfigError, match="PRICEHOUND_RENDER_BLOCK"):
            Settings.from_env({"PRICEHOUND_RENDER_BLOCK": bad})


def test_stores_add_and_edit_set_how_pages_are_fetched(db, capsys):
    assert cli.main(["stores", "add", "--slug", "scripty", "--domains", "scripty.example", "--render", "js"]) == 0
    assert "rendered in headless Chromium" in capsys.readouterr().out
    assert cli.main(["stores", "edit", "scripty", "--render", "none"]) == 0
    assert "render none" in capsys.readouterr().out
    with db.connect() as conn:
        assert catalog.get_store(conn, "scripty").render == "none"
    assert cli.main(["stores", "edit", "scripty"]) == 2
    assert "--render js|none" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["stores", "edit", "scripty", "--render", "webkit"])


def test_page_visits_are_spaced_by_the_stores_delay(monkeypatch):
    """Rendered pages skip Scrapy's download slots, so the pool spaces them itself."""
    import asyncio

    from spiders import rendering

    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    monkeypatch.setattr(rendering.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(rendering.asyncio, "sleep", sleep)
    pool = BrowserPool(proxy=None, reader=None, delay=2.0, delay_jitter=0.0)

    async def visits() -> None:
        await pool._pace()  # the first visit waits for nothing
        now[0] += 0.5       # half a second of rendering
        await pool._pace()
        await pool._pace()

    asyncio.run(visits())
    assert waits == [1.5, 2.0]
