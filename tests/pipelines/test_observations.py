"""The last observations of each listing: kept in a ring of slots, with how each was read."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from pipelines import observations
from pipelines.flush import row_from_dropped, row_from_observation
from pipelines.postgres_writer import PostgresWriterPipeline
from tests.pipelines.helpers import add_listings, add_run, add_store, failed, ok, removed, rows


@pytest.fixture()
def listings(db):
    store = add_store(db, "ringshop", ["shop.example"])
    return add_listings(db, store.id, [f"https://shop.example/p/{i}" for i in range(3)])


def kept(db, listing_id):
    return rows(db, "SELECT slot, kind, reason, price, availability, rules, source, status_code, crawl_run_id "
                    "FROM listing_observations WHERE listing_id = :l ORDER BY seq", l=listing_id)


def test_each_listing_keeps_only_its_newest_observations_in_order(db, listings):
    first = listings[0]
    for i in range(observations.OBSERVATION_SLOTS + 3):
        with db.begin() as conn:
            observations.record(conn, [row_from_observation(ok(first, price=f"{10 + i}.00"))], run_id=None)
    with db.begin() as conn:
        observations.record(conn, [row_from_observation(ok(listings[1], price="5.00"))], run_id=None)
    seen = kept(db, first)
    assert len(seen) == observations.OBSERVATION_SLOTS
    # the oldest three were overwritten; the rest are the newest, oldest first
    assert [r["price"] for r in seen] == [Decimal(f"{10 + i}.00") for i in range(3, observations.OBSERVATION_SLOTS + 3)]
    assert sorted(r["slot"] for r in seen) == list(range(observations.OBSERVATION_SLOTS))
    assert [r["price"] for r in kept(db, listings[1])] == [Decimal("5.00")]


def test_every_kind_is_kept_with_its_reason_rules_and_run(db, listings):
    store_id = rows(db, "SELECT store_id FROM store_listings WHERE id = :l", l=listings[0])[0]["store_id"]
    run_id = add_run(db, store_id, listings)
    good = ok(listings[0], price="12.50", status_code=200, source="json-ld")
    good.rules = {"price": "jsonld_offer", "availability": "schema_instock"}  # what the spider will attach
    batch = [row_from_observation(good), row_from_observation(removed(listings[1])),
             row_from_dropped(failed(listings[2]), "no_price")]
    notes = {listings[0]: observations.note_for(good)}
    with db.begin() as conn:
        assert observations.record(conn, batch, notes, run_id=run_id) == 3
    assert kept(db, listings[0]) == [{
        "slot": 0, "kind": "ok", "reason": None, "price": Decimal("12.50"), "availability": "in_stock",
        "rules": {"price": "jsonld_offer", "availability": "schema_instock"}, "source": "json-ld",
        "status_code": 200, "crawl_run_id": run_id}]
    assert [(r["kind"], r["reason"]) for r in kept(db, listings[1])] == [("removed", "http_404")]
    assert [(r["kind"], r["reason"]) for r in kept(db, listings[2])] == [("dropped", "dropped:no_price")]


def test_an_observation_of_a_deleted_listing_is_skipped_not_fatal(db, listings):
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM store_listings WHERE id = :l"), {"l": listings[2]})
    with db.begin() as conn:
        n = observations.record(conn, [row_from_observation(ok(listings[0])), row_from_observation(ok(listings[2]))],
                                run_id=None)
    assert n == 1


def test_the_writer_records_observations_in_the_flush_transaction(db, listings):
    writer = PostgresWriterPipeline(None, 1, batch_size=500, interval=2.0, removed_after=2,
                                    alert_task="pricehound.alerts.evaluate_events", engine=db)
    obs = ok(listings[0], price="9.99", source="meta")
    result = writer.write([row_from_observation(obs), row_from_observation(failed(listings[1], "timeout"))],
                          {listings[0]: observations.note_for(obs)})
    assert result.counts["ok"] == 1
    assert [(r["kind"], r["price"], r["source"]) for r in kept(db, listings[0])] == [("ok", Decimal("9.99"), "meta")]
    assert [(r["kind"], r["reason"]) for r in kept(db, listings[1])] == [("failed", "timeout")]
