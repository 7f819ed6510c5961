"""cheapest_store: the evaluator's SQL owes exactly what the reference model owes.

Hypothesis generates one product at three stores (prices with ties, stock stated or not, gone
listings), a watch of some of those stores, and one change of one listing (a drop, a rise, a
sell-out, a return, a removal, a reappearance). The change goes into price_events with the state
after it in store_prices, the evaluator runs, and the outbox must hold a cheapest_store row
exactly when alerts.model.cheapest_store_change says the strictly cheapest store changed, with
the store and price it names.
"""

from __future__ import annotations

import itertools
import os
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.evaluate import evaluate_batch
from alerts.model import Offer, cheapest_store_change

EXAMPLES = int(os.environ.get("PRICEHOUND_MODEL_EXAMPLES", "60"))
PRICES = [Decimal(p) for p in ("10.00", "12.00", "15.00", "20.00")]
KNOWN = ["in_stock", "out_of_stock", "preorder", None]
_serial = itertools.count()

offers = st.tuples(st.sampled_from(PRICES), st.sampled_from(KNOWN), st.booleans())
changes = st.sampled_from(["price_drop", "price_rise", "sold_out", "back_in_stock", "removed", "reappeared"])


def _after(kind: str, price: Decimal, known: str | None, active: bool, new_price: Decimal):
    """The event's listing after a change of this kind, or None when the kind cannot follow."""
    if kind in ("price_drop", "price_rise"):
        ok = active and (new_price < price if kind == "price_drop" else new_price > price)
        return (new_price, known, True) if ok else None
    if kind == "sold_out":
        return (price, "out_of_stock", True) if active and known in ("in_stock", "preorder") else None
    if kind == "back_in_stock":
        return (price, "in_stock", True) if active and known == "out_of_stock" else None
    if kind == "removed":
        return (price, known, False) if active else None
    return (price, "in_stock", True) if not active else None  # reappeared


def _setup(conn, before, after, moved, kind, preferred):
    n = next(_serial)
    stores = [conn.execute(sa.text(
        "INSERT INTO stores (slug, name, allowed_domains) VALUES (:s, :s, ARRAY[:d]) RETURNING id"),
        {"s": f"cs{n}x{i}", "d": f"cs{n}x{i}.example"}).scalar_one() for i in range(3)]
    product = conn.execute(sa.text("INSERT INTO branded_products (name) VALUES ('Kettle') RETURNING id")).scalar_one()
    listings = []
    for i, (price, known, active) in enumerate(after):
        lid = conn.execute(sa.text(
            "INSERT INTO store_listings (store_id, product_id, url, status) VALUES (:s, :p, :u, :st) RETURNING id"),
            {"s": stores[i], "p": product, "u": f"https://cs{n}x{i}.example/k", "st": "active" if active else "removed"}
        ).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO store_prices (listing_id, price, currency, availability, known_availability, observed_at, "
            "changed_at) VALUES (:l, :p, 'EUR', coalesce(:k, 'unknown'), :k, pricehound_now(), pricehound_now())"),
            {"l": lid, "p": price, "k": known})
        listings.append(lid)
    user = conn.execute(sa.text(
        "INSERT INTO users (email, verified_at) VALUES (:e, pricehound_now()) RETURNING id"),
        {"e": f"cs{n}@example.com"}).scalar_one()
    lst = conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'W') RETURNING id"),
                       {"u": user}).scalar_one()
    item = conn.execute(sa.text(
        "INSERT INTO shopping_list_items (list_id, product_id, preferred_store_ids, notify_kinds) "
        "VALUES (:l, :p, :s, ARRAY['cheapest_store']) RETURNING id"),
        {"l": lst, "p": product, "s": [stores[i] for i in preferred] if preferred else None}).scalar_one()
    old, new = before[moved], after[moved]
    event = conn.execute(sa.text(
        "INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, old_availability, "
        "new_availability, occurred_at) VALUES (:l, :k, :op, :np, 'EUR', :oa, :na, pricehound_now()) RETURNING id"),
        {"l": listings[moved], "k": kind, "op": old[0], "np": new[0], "oa": old[1],
         "na": None if kind == "removed" else new[1]}).scalar_one()
    return stores, listings, item, event


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.filter_too_much])
@given(before=st.lists(offers, min_size=3, max_size=3), moved=st.integers(0, 2), kind=changes,
       new_price=st.sampled_from(PRICES),
       preferred=st.sampled_from([None, (0, 1), (0, 1, 2), (1, 2)]))
def test_cheapest_store_is_owed_exactly_as_the_model_says(db, before, moved, kind, new_price, preferred):
    changed = _after(kind, *before[moved], new_price)
    if changed is None:
        return
    after = list(before)
    after[moved] = changed
    with db.begin() as conn:
        stores, listings, item, event = _setup(conn, before, after, moved, kind, preferred)
        watched = [i for i in range(3) if preferred is None or i in preferred]
        if moved not in watched:
            return  # a change at a store the watch does not follow reaches no watch

        def offer(i, state):
            return Offer(store=stores[i], price=state[0], currency="EUR", known=state[1], active=state[2])

        expected = cheapest_store_change([offer(i, before[i]) for i in watched],
                                         [offer(i, after[i]) for i in watched], "EUR")
        # a drop of an item one cannot buy is no sale news of any kind
        if kind == "price_drop" and not (changed[2] and changed[1] in ("in_stock", "preorder")):
            expected = None
        evaluate_batch(conn, [event], cooldown_seconds=0, window_seconds=0)
        rows = conn.execute(sa.text(
            "SELECT kind, payload FROM notifications WHERE item_id = :i"), {"i": item}).all()
    got = [(r.kind, r.payload.get("cheapest_listing_id"), Decimal(str(r.payload.get("cheapest_price")))) for r in rows]
    if expected is None:
        assert got == []
    else:
        store, price = expected
        assert got == [("cheapest_store", listings[stores.index(store)], price)]
