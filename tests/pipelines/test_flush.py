"""The writer's SQL against the real schema: one flush of crafted observations at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from pipelines.flush import flush_rows, row_from_dropped, row_from_observation
from tests.pipelines.helpers import (
    add_listings,
    add_run,
    add_store,
    failed,
    ok,
    removed,
    rows,
    scalar,
)


@pytest.fixture()
def shop(db):
    store = add_store(db, "shop", ["shop.example"], is_local=False)
    return store


@pytest.fixture()
def listings(db, shop):
    return add_listings(db, shop.id, [f"https://shop.example/p/{i}" for i in range(6)])


def flush(db, observations, run_id=None, removed_after=2, dropped=(), confirm=False):
    batch = [row_from_observation(o) for o in observations]
    batch += [row_from_dropped(o, reason, price, cur) for o, reason, price, cur in dropped]
    with db.begin() as conn:
        return flush_rows(conn, batch, run_id=run_id, removed_after=removed_after, confirm=confirm)


def history(db, listing_id):
    return rows(db, "SELECT price, currency, availability FROM price_history_log WHERE listing_id = :l "
                    "ORDER BY observed_at", l=listing_id)


def events(db, listing_id=None):
    sql = "SELECT listing_id, kind, old_price, new_price, currency, old_availability, new_availability " \
          "FROM price_events"
    if listing_id is not None:
        return rows(db, sql + " WHERE listing_id = :l ORDER BY id", l=listing_id)
    return rows(db, sql + " ORDER BY id")


def listing(db, listing_id):
    return rows(db, "SELECT * FROM store_listings WHERE id = :l", l=listing_id)[0]


def price_row(db, listing_id):
    found = rows(db, "SELECT * FROM store_prices WHERE listing_id = :l", l=listing_id)
    return found[0] if found else None


def test_first_observation_is_history_but_no_event(db, listings):
    lid = listings[0]
    result = flush(db, [ok(lid, "19.99", title="  Kettle  ", sku="K-1", gtin="0123456789012")])
    assert result.event_ids == []
    assert result.counts["ok"] == 1 and result.counts["changed"] == 1
    prices = price_row(db, lid)
    assert prices["price"] == Decimal("19.99") and prices["currency"] == "USD"
    assert prices["changed_at"] == prices["observed_at"]
    assert history(db, lid) == [{"price": Decimal("19.99"), "currency": "USD", "availability": "in_stock"}]
    row = listing(db, lid)
    assert row["title"] == "  Kettle  " and row["sku"] == "K-1" and row["gtin"] == "0123456789012"
    times = rows(db, "SELECT * FROM listing_crawl_times WHERE listing_id = :l", l=lid)[0]
    assert times["first_seen_at"] == times["last_seen_at"] == prices["observed_at"]


def test_unchanged_observation_writes_no_history_and_no_event(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, "19.99")])
    first = price_row(db, lid)
    result = flush(db, [ok(lid, "19.99")])
    assert result.event_ids == [] and result.counts["changed"] == 0
    again = price_row(db, lid)
    assert again["observed_at"] > first["observed_at"]
    assert again["changed_at"] == first["changed_at"]
    assert len(history(db, lid)) == 1


def test_price_drop_and_rise_are_events_with_old_and_new_price(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, "100.00")])
    drop = flush(db, [ok(lid, "79.00")])
    rise = flush(db, [ok(lid, "85.50")])
    assert len(drop.event_ids) == 1 and len(rise.event_ids) == 1
    assert [(e["kind"], e["old_price"], e["new_price"], e["currency"]) for e in events(db, lid)] == [
        ("price_drop", Decimal("100.00"), Decimal("79.00"), "USD"),
        ("price_rise", Decimal("79.00"), Decimal("85.50"), "USD"),
    ]
    assert len(history(db, lid)) == 3


def test_currency_change_is_history_but_not_a_price_event(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, "100.00", currency="USD")])
    flush(db, [ok(lid, "90.00", currency="CAD")])
    assert events(db, lid) == []
    assert [h["currency"] for h in history(db, lid)] == ["USD", "CAD"]


@pytest.mark.parametrize(("before", "after", "kind"), [
    ("in_stock", "out_of_stock", "sold_out"),
    ("preorder", "out_of_stock", "sold_out"),
    ("out_of_stock", "in_stock", "back_in_stock"),
    ("out_of_stock", "preorder", "back_in_stock"),
    ("in_stock", "preorder", None),
    ("in_stock", "unknown", None),
    ("unknown", "out_of_stock", None),
    ("out_of_stock", "unknown", None),
])
def test_stock_transitions(db, listings, before, after, kind):
    lid = listings[0]
    flush(db, [ok(lid, "10.00", availability=before)])
    flush(db, [ok(lid, "10.00", availability=after)])
    assert [e["kind"] for e in events(db, lid)] == ([kind] if kind else [])
    assert len(history(db, lid)) == 2
    if kind:
        event = events(db, lid)[0]
        assert (event["old_availability"], event["new_availability"]) == (before, after)


def test_removal_is_confirmed_only_after_consecutive_crawls(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, "10.00")])
    flush(db, [removed(lid)])
    row = listing(db, lid)
    assert row["status"] == "active" and row["consecutive_removed"] == 1
    assert events(db, lid) == []
    flush(db, [removed(lid)])
    row = listing(db, lid)
    assert row["status"] == "removed" and row["consecutive_removed"] == 2
    assert [(e["kind"], e["old_price"], e["new_price"], e["new_availability"]) for e in events(db, lid)] == [
        ("removed", Decimal("10.00"), None, None)]
    flush(db, [removed(lid)])
    assert len(events(db, lid)) == 1, "a removal is announced once"
    assert price_row(db, lid)["price"] == Decimal("10.00"), "the last known price is kept"


def test_removal_threshold_is_configurable(db, listings):
    lid = listings[0]
    flush(db, [ok(lid)])
    flush(db, [removed(lid)], removed_after=1)
    assert listing(db, lid)["status"] == "removed"
    assert [e["kind"] for e in events(db, lid)] == ["removed"]


def test_a_failure_never_changes_price_stock_or_status(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, "10.00", availability="in_stock")])
    flush(db, [removed(lid)])
    before_price = price_row(db, lid)
    for reason in ("http_500", "timeout", "challenge"):
        flush(db, [failed(lid, reason)])
    row = listing(db, lid)
    assert row["status"] == "active"
    assert row["consecutive_failures"] == 3 and row["last_failure_reason"] == "challenge"
    assert row["consecutive_removed"] == 0, "a failure in between starts the removed count again"
    assert price_row(db, lid) == before_price
    assert events(db, lid) == [] and len(history(db, lid)) == 1


def test_ok_resets_both_counters(db, listings):
    lid = listings[0]
    flush(db, [ok(lid)])
    flush(db, [removed(lid)])
    flush(db, [failed(lid)])
    flush(db, [ok(lid)])
    row = listing(db, lid)
    assert (row["consecutive_removed"], row["consecutive_failures"], row["last_failure_reason"]) == (0, 0, None)


def test_a_removed_listing_read_again_reappears(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, "10.00")])
    flush(db, [removed(lid)], removed_after=1)
    result = flush(db, [ok(lid, "8.00")])
    assert listing(db, lid)["status"] == "active"
    assert sorted(e["kind"] for e in events(db, lid)) == ["price_drop", "reappeared", "removed"]
    assert len(result.event_ids) == 2


def test_every_observation_schedules_the_next_crawl(db, shop, listings):
    run_id = add_run(db, shop.id, listings[:3])
    flush(db, [ok(listings[0]), removed(listings[1]), failed(listings[2])], run_id=run_id)
    frontier = {r["listing_id"]: r for r in rows(
        db, "SELECT *, next_due_at - pricehound_now() AS wait FROM user_crawler_priorities")}
    for lid in listings[:3]:
        row = frontier[lid]
        assert row["last_crawled_at"] is not None
    for lid in (listings[0], listings[2]):
        assert frontier[lid]["wait"].total_seconds() > 60
    # a first gone reading is read again at once, to confirm it at the next dispatch
    assert frontier[listings[1]]["wait"].total_seconds() <= 0
    assert frontier[listings[3]]["last_crawled_at"] is None


def test_repeated_failures_back_off_up_to_the_longest_interval(db, listings):
    lid = listings[0]
    with db.begin() as conn:  # a hot listing: due every 5 minutes when all is well
        conn.execute(sa.text("UPDATE user_crawler_priorities SET priority = 10 WHERE listing_id = :l"), {"l": lid})
    waits = []
    for _ in range(8):
        flush(db, [failed(lid)])
        waits.append(scalar(db, "SELECT extract(epoch FROM next_due_at - pricehound_now()) FROM user_crawler_priorities "
                                "WHERE listing_id = :l", l=lid))
    minutes = [round(float(w) / 60) for w in waits]
    assert minutes == [5, 10, 20, 40, 80, 160, 320, 360]


def test_absurd_price_is_remembered_as_suspect_and_counted(db, shop, listings):
    lid = listings[0]
    run_id = add_run(db, shop.id, [lid])
    flush(db, [ok(lid, "10.00")])
    result = flush(db, [], run_id=run_id, dropped=[(ok(lid, "999.00"), "absurd_jump", Decimal("999.00"), "USD")])
    assert result.counts["dropped"] == 1 and result.event_ids == []
    row = listing(db, lid)
    assert (row["suspect_price"], row["suspect_currency"]) == (Decimal("999.00"), "USD")
    assert row["last_failure_reason"] == "dropped:absurd_jump"
    assert price_row(db, lid)["price"] == Decimal("10.00")
    assert scalar(db, "SELECT dropped FROM crawl_runs WHERE id = :r", r=run_id) == 1
    flush(db, [ok(lid, "999.00")])
    row = listing(db, lid)
    assert row["suspect_price"] is None
    assert [e["kind"] for e in events(db, lid)] == ["price_rise"]


def test_one_batch_mixing_every_kind(db, shop, listings):
    a, b, c, d, e, f = listings
    flush(db, [ok(a, "50.00"), ok(b, "20.00", availability="in_stock"), ok(c, "5.00"), ok(e, "7.00")])
    flush(db, [removed(e)])
    run_id = add_run(db, shop.id, listings)
    result = flush(db, [
        ok(a, "40.00"),                               # price drop
        ok(b, "20.00", availability="out_of_stock"),   # sold out
        removed(c),                                   # seen gone once: no event yet
        failed(d, "timeout"),                         # never read: nothing but the counter
        removed(e),                                   # second time gone: removed
    ], run_id=run_id, dropped=[(ok(f, "-1.00"), "negative_price", None, None)])
    assert result.counts == {"ok": 2, "changed": 2, "removed": 2, "failed": 1, "dropped": 1, "held": 0,
                             "confirmed_removed": 1}
    assert sorted((ev["listing_id"], ev["kind"]) for ev in events(db)) == [
        (a, "price_drop"), (b, "sold_out"), (e, "removed")]
    assert len(result.event_ids) == 3
    run = rows(db, "SELECT * FROM crawl_runs WHERE id = :r", r=run_id)[0]
    assert (run["ok"], run["changed"], run["removed"], run["failed"], run["dropped"]) == (2, 2, 2, 1, 1)
    assert scalar(db, "SELECT count(*) FROM user_crawler_priorities WHERE last_crawled_at IS NULL") == 0
    assert price_row(db, d) is None and price_row(db, f) is None


def test_reflushing_the_same_observations_writes_no_duplicate_history(db, listings):
    """A run killed after a commit and crawled again must not write the change twice."""
    first = [ok(listings[0], "12.00"), ok(listings[1], "30.00", availability="out_of_stock")]
    flush(db, first)
    flush(db, [ok(listings[0], "11.00"), ok(listings[1], "30.00", availability="in_stock")])
    events_before = len(events(db))
    flush(db, [ok(listings[0], "11.00"), ok(listings[1], "30.00", availability="in_stock")])
    assert len(events(db)) == events_before == 2
    assert scalar(db, "SELECT count(*) FROM price_history_log") == 4


def test_an_older_observation_never_overwrites_a_newer_one(db, listings):
    lid = listings[0]
    older = ok(lid, "99.00")          # seen first ...
    newer = ok(lid, "10.00")
    flush(db, [newer])
    result = flush(db, [older])       # ... but written last: the newer state stays
    assert price_row(db, lid)["price"] == Decimal("10.00")
    assert result.counts["changed"] == 0 and result.event_ids == []
    assert len(history(db, lid)) == 1


def test_an_empty_batch_writes_nothing(db):
    with db.begin() as conn:
        assert flush_rows(conn, [], run_id=None).event_ids == []


def test_text_with_tabs_newlines_and_backslashes_is_loaded_intact(db, listings):
    title = "Kettle\t2 L\nsteel \\ copper \\N"
    flush(db, [ok(listings[0], title=title, sku="A\rB")])
    row = listing(db, listings[0])
    assert row["title"] == title and row["sku"] == "A\rB"


def test_an_ok_read_without_a_price_keeps_the_last_known_price(db, listings):
    """A sold-out page that hides its price says nothing about the price: it stays, stock changes."""
    lid = listings[0]
    flush(db, [ok(lid, "25.00", regular_price=Decimal("30.00"))])
    result = flush(db, [ok(lid, None, availability="out_of_stock", currency=None)])
    prices = price_row(db, lid)
    assert (prices["price"], prices["currency"], prices["regular_price"], prices["availability"]) == (
        Decimal("25.00"), "USD", Decimal("30.00"), "out_of_stock")
    assert result.counts["changed"] == 1
    assert [(e["kind"], e["old_price"], e["new_price"]) for e in events(db, lid)] == [
        ("sold_out", Decimal("25.00"), Decimal("25.00"))]
    assert history(db, lid)[-1] == {"price": Decimal("25.00"), "currency": "USD", "availability": "out_of_stock"}


def test_an_ok_read_without_a_price_on_a_new_listing_records_stock_only(db, listings):
    lid = listings[0]
    flush(db, [ok(lid, None, availability="out_of_stock", currency=None)])
    prices = price_row(db, lid)
    assert (prices["price"], prices["currency"], prices["availability"]) == (None, None, "out_of_stock")


def test_an_unchanged_read_leaves_the_listing_row_alone(db, listings):
    """Only the price row's observed_at and the frontier move: the listing is not rewritten."""
    lid = listings[0]
    flush(db, [ok(lid, "10.00", title="Kettle", sku="K-1")])
    before = scalar(db, "SELECT xmin::text FROM store_listings WHERE id = :l", l=lid)
    flush(db, [ok(lid, "10.00", title="Kettle", sku="K-1")])
    assert scalar(db, "SELECT xmin::text FROM store_listings WHERE id = :l", l=lid) == before
    flush(db, [ok(lid, "10.00", title="Kettle 2 L", sku="K-1")])
    assert listing(db, lid)["title"] == "Kettle 2 L"


def test_a_flush_leaves_the_callers_planner_settings_as_they_were(db, listings):
    with db.begin() as conn:
        conn.execute(sa.text("SET LOCAL enable_hashjoin = off"))
        flush_rows(conn, [row_from_observation(ok(listings[0]))], run_id=None)
        assert conn.execute(sa.text("SELECT current_setting('enable_hashjoin'), "
                                    "current_setting('enable_mergejoin')")).one() == ("off", "on")


def test_a_failed_flush_leaves_the_connection_ready_for_the_next(engine, db, listings):
    """The batch table is created once per connection; a rolled-back first flush takes it along."""

    fresh = sa.create_engine(engine.url, poolclass=sa.pool.SingletonThreadPool)
    bad = row_from_observation(ok(listings[0]))._replace(availability="bogus")
    with pytest.raises(sa.exc.IntegrityError), fresh.begin() as conn:
        flush_rows(conn, [bad], run_id=None)
    with fresh.begin() as conn:
        assert flush_rows(conn, [row_from_observation(ok(listings[0], "12.00"))], run_id=None).counts["ok"] == 1
    fresh.dispose()
    assert price_row(db, listings[0])["price"] == Decimal("12.00")


def test_a_three_decimal_price_round_trips_through_the_writer_unrounded(db, listings):
    from pipelines.validate import validate

    lid = listings[0]
    first = validate(ok(lid, "2.500", currency="KWD"), None, default_currency="USD", max_jump=Decimal(50))
    flush(db, [first])
    second = validate(ok(lid, "2.345", currency="KWD"), None, default_currency="USD", max_jump=Decimal(50))
    flush(db, [second])
    stored = price_row(db, lid)
    assert (str(stored["price"]), stored["currency"]) == ("2.345", "KWD")
    assert [(str(h["price"]), h["currency"]) for h in history(db, lid)] == [("2.500", "KWD"), ("2.345", "KWD")]
    assert [(e["kind"], str(e["old_price"]), str(e["new_price"])) for e in events(db, lid)] == [
        ("price_drop", "2.500", "2.345")]


def test_a_two_decimal_price_is_stored_with_two_decimals(db, listings):
    lid = listings[1]
    flush(db, [ok(lid, "19.99")])
    assert str(price_row(db, lid)["price"]) == "19.99"
