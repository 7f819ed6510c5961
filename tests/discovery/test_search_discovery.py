"""Search-driven discovery end to end against the local demo store: a product watched at three
shops is searched there (a search page; a search page robots.txt disallows, as Shopify's does,
so that shop's sitemap; a shop with no search page, so its sitemap named in robots.txt), the best results'
pages are crawled by each store's own crawl, the identity rules link the product (never its
near-identical decoys), and a search that finds nothing is a status, never an email."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from demostore import DemoStoreServer, demo_catalogue
from demostore.overlap import SEARCH_PATHS, truth
from pricehound import catalog
from pricehound.products import create_product
from spiders import search as S
from tests.conftest import REPO_ROOT
from tests.crawl.conftest import FAST
from tests.pipelines.helpers import add_store
from workers.schedule import lease_due

KETTLE = "Kestrel Electric Gooseneck Kettle 1 L"
SHOPS = ("copperpot", "northwind", "dailybasket")


@pytest.fixture(scope="module")
def shops():
    with DemoStoreServer(demo_catalogue(faults=False, overlap=True)) as server:
        yield server


def _product(shops, slug: str, name: str):
    return next(p for p in shops.products(slug) if p.name == name)


def _setup(db, shops) -> dict:
    """The three shops (dailybasket only through its sitemap; northwind's robots.txt disallows its search page), a user and a product watch."""
    ids = {}
    for slug in SHOPS:
        store = next(s for s in shops.catalogue() if s.slug == slug)
        row = add_store(db, slug, [f"127.0.0.1:{shops.port(slug)}"], currency=store.currency)
        ids[slug] = row.id
        path = SEARCH_PATHS.get(store.shape) if slug != "dailybasket" else None
        with db.begin() as conn:
            if path:
                catalog.set_search(conn, row, search_url=shops.base_url(slug) + path)
            else:  # a page of the shop someone watches tells where the shop is (robots.txt, sitemap)
                catalog.ensure_listing(conn, row, shops.product_url(slug, store.products[0].id))
    # the product as the catalogue knows it (made from a listing with its GTIN, say)
    gtin = _product(shops, "copperpot", KETTLE).gtin
    with db.begin() as conn:
        user = catalog.add_user(conn, email="ann@example.com", verified=True)
        list_id = catalog.ensure_list(conn, user)
        kettle = create_product(conn, name=KETTLE, brand="Kestrel", gtins=[gtin])
        toaster = create_product(conn, name="Kestrel Cordless Pizza Oven 16 inch", brand="Kestrel")
        for product, stores in ((kettle, [ids[s] for s in SHOPS]), (toaster, [ids["copperpot"]])):
            conn.execute(sa.text("INSERT INTO shopping_list_items (list_id, product_id, preferred_store_ids, notify_kinds) "
                                 "VALUES (:l, :p, :s, '{sale,cheapest_store}')"),
                         {"l": list_id, "p": product, "s": stores})
    return {"stores": ids, "kettle": kettle, "toaster": toaster}


def _crawl_due(db, env) -> list[int]:
    """Dispatch as beat does, then run every run's crawl process side by side."""
    with db.begin() as conn:
        runs = lease_due(conn, lease_seconds=600)
    procs = []
    for run in runs:
        args = [sys.executable, "-m", "spiders.run", str(run.run_id)]
        for setting in FAST:
            args += ["-s", setting]
        procs.append(subprocess.Popen(args, cwd=REPO_ROOT, env={**env, "PRICEHOUND_EXTRACT_WORKERS": "0"},
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    for proc in procs:
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, out[-3000:]
    return [r.searches for r in runs]


def test_a_product_watch_is_found_by_search_and_sitemap_and_a_missing_one_says_not_found(db, shops, env):
    made = _setup(db, shops)
    with db.connect() as conn:
        due = conn.execute(sa.text("SELECT count(*) FROM search_targets WHERE watchers > 0")).scalar()
    assert due == 4  # the kettle at three shops, the pizza oven at one

    searches = _crawl_due(db, env)
    assert sorted(searches) == [1, 1, 2]  # searches ride in each store's own run

    with db.connect() as conn:
        states = {r.store: r for r in conn.execute(sa.text(
            """
            SELECT w.store, w.state, w.state_rule, w.listing_id, l.url, l.title, t.found_listing_id
              FROM product_watch_stores w
              LEFT JOIN store_listings l ON l.id = coalesce(w.listing_id,
                   (SELECT found_listing_id FROM search_targets t WHERE t.product_id = w.product_id
                       AND t.store_id = w.store_id))
              LEFT JOIN search_targets t ON t.product_id = w.product_id AND t.store_id = w.store_id
             WHERE w.product_id = :p
            """), {"p": made["kettle"]})}
        oven = conn.execute(sa.text("SELECT state, state_rule FROM product_watch_stores WHERE product_id = :p"),
                            {"p": made["toaster"]}).one()
        mailed = conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar()
        oven_due = conn.execute(sa.text(
            "SELECT next_due_at > pricehound_now() + interval '1 hour' FROM search_targets WHERE product_id = :p"),
            {"p": made["toaster"]}).scalar()

    # linked by GTIN at every shop that shows one, each the real product's page
    for slug in ("copperpot", "northwind"):
        row = states[slug]
        want = _product(shops, slug, truth()["kettle"][slug])
        assert row.state == "found", (slug, row)
        assert row.url.rstrip("/").endswith(shops.product_path(slug, want.id).rstrip("/")), row.url
    # the sitemap-only shop shows no GTIN: its page waits for a person to confirm the title match
    assert states["dailybasket"].state == "candidate"
    assert states["dailybasket"].state_rule == S.RULE_CANDIDATE
    assert "/p/" in states["dailybasket"].url and "kestrel-electric-gooseneck-kettle-1-l" in states["dailybasket"].url
    # a product the shop does not sell: a status on the watch, searched again later, no email
    assert oven.state == "not_found" and oven.state_rule in (S.RULE_NO_RESULTS, S.RULE_NO_MATCH,
                                                             S.RULE_NOT_THE_PRODUCT)
    assert S.state_words(oven.state, "copperpot") == "not found at copperpot yet"
    assert oven_due and mailed == 0

    # the decoys (1.7 L, matte black, a 2-pack) were never linked to the kettle
    with db.connect() as conn:
        linked = conn.execute(sa.text("SELECT title FROM store_listings WHERE product_id = :p ORDER BY title"),
                              {"p": made["kettle"]}).scalars().all()
    assert len(linked) == 2 and not any(w in t for t in linked for w in ("1.7", "Matte", "2-Pack"))

    # the found listings are in the frontier with the watch's demand; the found searches are done
    with db.connect() as conn:
        frontier = conn.execute(sa.text(
            "SELECT count(*) FROM user_crawler_priorities q JOIN store_listings l ON l.id = q.listing_id "
            "WHERE l.product_id = :p AND q.watchers > 0"), {"p": made["kettle"]}).scalar()
    assert frontier == 2
    with db.begin() as conn:
        again = lease_due(conn, lease_seconds=600)
        conn.rollback()
    assert sum(r.searches for r in again) == 0
