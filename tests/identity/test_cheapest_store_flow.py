"""cheapest_store end to end: crawled readings through the writer, the evaluator, and the email,
for a product watched at several stores."""

from __future__ import annotations

import sqlalchemy as sa

from alerts import send
from alerts.evaluate import evaluate_batch
from pipelines.flush import flush_rows, row_from_observation
from pricehound import identity, products
from tests.pipelines.helpers import add_listings, add_store, ok


def _flush(db, observations):
    with db.begin() as conn:
        return flush_rows(conn, [row_from_observation(o) for o in observations], run_id=None, confirm=False)


def _evaluate(db, event_ids):
    with db.begin() as conn:
        evaluate_batch(conn, event_ids, cooldown_seconds=0, window_seconds=0)
        return conn.execute(sa.text("SELECT id, kind, payload FROM notifications ORDER BY id")).all()


def test_cheapest_store_follows_the_cheapest_in_stock_store_and_mails_it(db, settings):
    shops = [add_store(db, s, [f"{s}.example"], currency="EUR", is_local=False) for s in ("alpha", "beta", "gamma")]
    ids = [add_listings(db, s.id, [f"https://{s.slug}.example/kettle"])[0] for s in shops]
    gtin = "4006381333931"
    _flush(db, [ok(ids[0], "40.00", currency="EUR", title="Acme Kettle", gtin=gtin),
                ok(ids[1], "45.00", currency="EUR", title="Acme Wasserkocher", gtin=gtin),
                ok(ids[2], "30.00", currency="EUR", title="Acme Kettle", gtin=gtin)])
    with db.begin() as conn:
        assert len({conn.execute(sa.text("SELECT product_id FROM store_listings WHERE id = :l"), {"l": i}).scalar()
                    for i in ids}) == 1
        conn.execute(sa.text("INSERT INTO users (email, verified_at) VALUES ('ann@example.com', pricehound_now())"))
        watch = products.add_product_watch(conn, email="ann@example.com", gtin=gtin, stores="alpha,beta",
                                           notify="cheapest_store")
    assert watch.store_slugs == ("alpha", "beta")  # gamma, cheaper, is not one of the watch's stores

    # a tie is no change: beta drops to alpha's price
    tie = _flush(db, [ok(ids[1], "40.00", currency="EUR")])
    assert _evaluate(db, tie.event_ids) == []
    # beta goes below alpha: beta is the cheapest now
    below = _flush(db, [ok(ids[1], "38.00", currency="EUR")])
    rows = _evaluate(db, below.event_ids)
    assert [(r.kind, r.payload["cheapest_listing_id"]) for r in rows] == [("cheapest_store", ids[1])]
    # beta sells out: alpha, still in stock, is the cheapest again, and the email names alpha
    sold = _flush(db, [ok(ids[1], "38.00", availability="out_of_stock", currency="EUR")])
    rows = _evaluate(db, sold.event_ids)
    assert [(r.kind, r.payload["cheapest_listing_id"]) for r in rows[1:]] == [("cheapest_store", ids[0])]
    # alpha drops while beta, cheaper than ever, is out of stock: alpha stays the cheapest, no news
    alpha_drop = _flush(db, [ok(ids[0], "39.00", currency="EUR")])
    assert len(_evaluate(db, alpha_drop.event_ids)) == 2

    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM notifications WHERE id <> :n"), {"n": rows[1].id})
        claimed = send.claim(conn, [rows[1].id], ignore_send_after=True)
        context = send.alert_context(conn, [rows[1].id])
    [message] = send.group(claimed)
    text = send.render_message(message, context, settings).text
    # the email is about alpha at its price, not about beta's sold-out reading
    assert "Alpha is now the cheapest of your stores at" in text and "40.00" in text and "38.00" not in text


def test_a_product_watch_lists_each_store_or_says_not_found_yet(db):
    shops = [add_store(db, s, [f"{s}.example"], currency="EUR", is_local=False) for s in ("alpha", "beta")]
    [lid] = add_listings(db, shops[0].id, ["https://alpha.example/kettle"])
    _flush(db, [ok(lid, "40.00", currency="EUR", title="Acme Kettle", gtin="4006381333931")])
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (email, verified_at) VALUES ('ann@example.com', pricehound_now())"))
        watch = products.add_product_watch(conn, email="ann@example.com", gtin="4006381333931", stores="alpha,beta")
        statuses = {s.store: s.status for s in products.watch_stores(conn, watch.id)}
        assert identity.link_listings(conn).linked == 0  # nothing new to link
    assert statuses == {"alpha": "found", "beta": "not found at beta yet"}
