"""End to end: a shop whose prices and stock are filled in by script is read right when its store
renders, and is flagged with the advice to render when it does not."""

from __future__ import annotations

from pricehound import catalog, cli
from tests.crawl.test_crawl_run import listing_state, run_row

# the script-built shop: in stock, sold out, pre-order, not on sale; one page never comes (the
# server holds the connection); the last product is gone (404)
EXPECTED = {"7001": "ok", "7002": "ok", "7003": "ok", "7004": "ok", "7005": ("failed", "render_timeout"),
            "7012": ("removed", "http_404")}


def _render(db, store_id: int, mode: str = "js") -> None:
    with db.begin() as conn:
        store = next(s for s in catalog.list_stores(conn) if s.id == store_id)
        catalog.set_render(conn, store, mode)


def test_a_script_built_shop_is_read_right_when_its_store_renders(db, shops, targets, render_crawl):
    """Every page read right; a page that never comes is failed(render_timeout), never gone; over
    the memory ceiling (1 MiB here: always) the pool closes contexts and keeps fewer, and the
    pages are still read right."""
    t = targets("lumenlabs", list(EXPECTED))
    _render(db, t.store_id)
    shops.set_product("lumenlabs", "7005", status="timeout")
    try:
        proc = render_crawl(t, None, extra_env={"PRICEHOUND_RENDER_TIMEOUT": "3", "PRICEHOUND_RENDER_MEMORY_MB": "1"})
    finally:
        shops.set_product("lumenlabs", "7005", status="ok")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for pid, want in EXPECTED.items():
        state = listing_state(db, t.listing_for(pid))
        product = shops.product("lumenlabs", pid)
        if want == "ok":
            assert (state["price"], state["currency"], state["availability"], state["title"]) == (
                product.price, "USD", product.availability, product.name), (pid, state)
            assert state["regular_price"] == product.regular_price, (pid, state)
        elif want[0] == "removed":
            assert state["price"] is None and state["consecutive_removed"] == 1, (pid, state)
        else:
            assert (state["price"], state["last_failure_reason"], state["consecutive_removed"], state["status"]) == (
                None, want[1], 0, "active"), (pid, state)
    run = run_row(db, proc.run_id)
    assert (run["ok"], run["removed"], run["failed"], run["render_advice"]) == (4, 1, 1, None)
    stats = run["stats"]
    assert stats["pricehound/render/recycled"] >= 1, "over the ceiling, contexts are closed"
    assert stats["pricehound/render/peak_pss_bytes"] > 2**20
    assert stats["pricehound/render/rule/render.product_present"] == 4
    assert stats["pricehound/render/blocked/image"] >= 4, "product images are never fetched"
    assert "pricehound/render/refused" not in stats, (stats, proc.stderr[-3000:])
    observed = [o["rules"] for o in _observations(db, t.listing_for("7001"))]
    assert observed and observed[0]["render"] == "render.product_present"


def _observations(db, listing_id):
    from tests.pipelines.helpers import rows

    return rows(db, "SELECT rules FROM listing_observations WHERE listing_id = :l ORDER BY seq DESC", l=listing_id)


def test_the_same_shop_not_rendered_is_a_failure_with_the_advice_to_render(db, shops, targets, crawl, capsys):
    t = targets("lumenlabs", ["7001", "7002", "7003"])
    proc = crawl(t)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for lid in t.listing_ids:
        state = listing_state(db, lid)
        assert (state["price"], state["last_failure_reason"], state["status"]) == (None, "app_shell", "active")
    run = run_row(db, proc.run_id)
    assert run["failed"] == 3 and run["removed"] == 0
    assert "render.app_shells" in run["render_advice"]
    assert "pricehound stores edit lumenlabs --render js" in run["render_advice"]
    assert cli.main(["status"]) == 0
    assert "advice: " in (out := capsys.readouterr().out) and "pricehound stores edit lumenlabs --render js" in out
    assert cli.main(["explain", str(t.listing_for("7001"))]) == 0
    assert "--render js" in (out := capsys.readouterr().out), out


def test_a_crashed_page_is_a_browser_crash_and_the_pool_goes_on(shops, browser_url):
    """The renderer of a page dies (DevTools' Page.crash): that render is failed(browser_crash),
    the context is closed, and the next page renders in a fresh one."""
    import asyncio
    import contextlib

    from spiders.extraction import extract_product
    from spiders.guardproxy import GuardProxy
    from spiders.rendering import BrowserPool, RenderFailed

    port = shops.port("lumenlabs")
    url = shops.product_url("lumenlabs", "7001")
    slow = shops.product_url("lumenlabs", "7002")

    async def read(html: str, page_url: str):
        return extract_product(html.encode(), page_url, encoding="utf-8")

    async def scenario() -> tuple[str, object]:
        proxy = await GuardProxy([f"127.0.0.1:{port}"], allow_private=True).start()
        pool = BrowserPool(proxy=proxy, reader=read, browser_url=browser_url, contexts=1, timeout=8,
                           allowed_domains=(f"127.0.0.1:{port}",))
        acquired = []
        acquire = pool.acquire

        async def recording():
            slot = await acquire()
            acquired.append(slot)
            return slot

        pool.acquire = recording
        try:
            # the shell and then its product call each take 1.5 s: crash the page once the shell is
            # there, while the page waits for its product
            rendering = asyncio.ensure_future(pool.render(slow))
            while not acquired or acquired[0].page.url != slow:
                await asyncio.sleep(0.05)
            session = await acquired[0].context.new_cdp_session(acquired[0].page)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.send("Page.crash"), 2)
            try:
                await rendering
                reason = "no failure"
            except RenderFailed as exc:
                reason = exc.reason
            return reason, (await pool.render(url)).extraction
        finally:
            await pool.close()
            await proxy.close()

    shops.configure(slow_delay=1.5)
    shops.set_product("lumenlabs", "7002", status="slow")
    try:
        reason, after = asyncio.run(scenario())
    finally:
        shops.set_product("lumenlabs", "7002", status="ok")
        shops.configure(slow_delay=0.05)
    assert reason == "browser_crash"
    assert after.price == shops.product("lumenlabs", "7001").price
