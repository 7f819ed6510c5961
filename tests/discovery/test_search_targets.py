"""Search targets in the frontier: made from product watches, priced by demand, leased with their
store, spaced out by their own interval, and done once the store has a linked listing."""

from __future__ import annotations

import sqlalchemy as sa

from spiders import discovery
from spiders import search as S
from workers.schedule import lease_due, refresh_all_search_targets


def _q(conn, sql: str, **params):
    return conn.execute(sa.text(sql), params)


def _world(db) -> dict:
    with db.begin() as conn:
        a = _q(conn, "INSERT INTO stores (slug, name, allowed_domains, download_delay) "
                     "VALUES ('alpha', 'Alpha', '{alpha.example}', 0) RETURNING id").scalar()
        product = _q(conn, "INSERT INTO branded_products (name, brand) VALUES ('Kettle 1 L', 'Kestrel') RETURNING id").scalar()
        free = _q(conn, "INSERT INTO users (email) VALUES ('ann@example.com') RETURNING id").scalar()
        premium = _q(conn, "INSERT INTO users (email, account_type) VALUES ('pat@example.com', 'premium') RETURNING id").scalar()
        lists = [_q(conn, "INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'W') RETURNING id", u=u).scalar()
                 for u in (free, premium)]
        # one watch names its store, the other takes any store
        _q(conn, "INSERT INTO shopping_list_items (list_id, product_id, preferred_store_ids) VALUES (:l, :p, :s)",
           l=lists[0], p=product, s=[a])
        _q(conn, "INSERT INTO shopping_list_items (list_id, product_id) VALUES (:l, :p)", l=lists[1], p=product)
    return {"alpha": a, "product": product}


def test_product_watches_make_one_search_target_per_store_with_demand_as_priority(db):
    w = _world(db)
    with db.connect() as conn:
        [t] = _q(conn, "SELECT store_id, watchers, premium_watchers, priority, status, "
                       "next_due_at <= pricehound_now() AS due FROM search_targets").all()
    assert (t.store_id, t.watchers, t.premium_watchers, t.status, t.due) == (w["alpha"], 2, 1, "pending", True)
    assert t.priority > 0
    # a store added later is searched for the "any store" watch once demand is re-counted
    with db.begin() as conn:
        b = _q(conn, "INSERT INTO stores (slug, name, allowed_domains) VALUES ('beta', 'Beta', '{beta.example}') "
                     "RETURNING id").scalar()
    refresh_all_search_targets(db)
    with db.connect() as conn:
        beta = _q(conn, "SELECT watchers, premium_watchers FROM search_targets WHERE store_id = :b", b=b).one()
    assert tuple(beta) == (1, 1)


def test_due_searches_ride_with_their_store_run_and_a_fruitless_search_waits_longer_each_time(db):
    w = _world(db)
    with db.begin() as conn:
        [run] = lease_due(conn, lease_seconds=600)
        search_ids = _q(conn, "SELECT search_ids FROM crawl_runs WHERE id = :r", r=run.run_id).scalar()
    assert run.requested == 0 and run.searches == 1 and len(search_ids) == 1
    waits = []
    for _ in range(3):
        with db.begin() as conn:
            discovery.record_outcome(conn, search_ids, "not_found", S.RULE_NO_RESULTS)
            waits.append(_q(conn, "SELECT extract(epoch FROM next_due_at - last_searched_at) FROM search_targets").scalar())
    assert waits[0] >= 4 * 5 * 60 and waits[1] == 2 * waits[0] and waits[2] == 2 * waits[1]
    with db.begin() as conn:
        _q(conn, "UPDATE stores SET crawl_lease_until = NULL")
        _q(conn, "UPDATE search_targets SET next_due_at = pricehound_now()")
        # the store now has a listing linked to the product: nothing left to search there
        _q(conn, "INSERT INTO store_listings (store_id, url, product_id) VALUES (:s, 'https://alpha.example/k', :p)",
           s=w["alpha"], p=w["product"])
        assert lease_due(conn, lease_seconds=600) == []
        state = _q(conn, "SELECT state FROM product_watch_stores WHERE store_id = :s LIMIT 1", s=w["alpha"]).scalar()
    assert state == "found"


def test_deleting_the_watches_leaves_the_target_without_demand(db):
    _world(db)
    with db.begin() as conn:
        _q(conn, "DELETE FROM shopping_list_items")
        assert lease_due(conn, lease_seconds=600) == []
    with db.connect() as conn:
        assert _q(conn, "SELECT watchers FROM search_targets").scalar() == 0
