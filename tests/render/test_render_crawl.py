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
