"""The writer's truth rules against the real schema: last known stock, removal in a row, and
confirmation before a change is applied."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.flush import flush_rows, row_from_observation
from tests.pipelines.helpers import add_listings, add_store, failed, ok, removed, rows, scalar


@pytest.fixture()
def lid(db):
    store = add_store(db, "truth", ["truth.example"], is_local=False)
    return add_listings(db, store.id, ["https://truth.example/p/1"])[0]


def flush(db, *observations, confirm=True, removed_after=2):
    with db.begin() as conn:
        return flush_rows(conn, [row_from_observation(o) for o in observations], run_id=None,
                          removed_after=removed_after, confirm=confirm)


def kinds(db, lid):
    return [(r["kind"], r["old_availability"], r["new_availability"]) for r in rows(
        db, "SELECT kind, old_availability, new_availability FROM price_events WHERE listing_id = :l ORDER BY id", l=lid)]


def current(db, lid):
    return rows(db, "SELECT price, availability, known_availability FROM store_prices WHERE listing_id = :l", l=lid)[0]


def due_now(db, lid) -> bool:
    return bool(scalar(db, "SELECT next_due_at <= pricehound_now() FROM user_crawler_priorities WHERE listing_id = :l",
                       l=lid))


@pytest.mark.parametrize("confirm", [False, True])
def test_in_unknown_out_is_a_sell_out(db, lid, confirm):
    flush(db, ok(lid, "40.00", "in_stock"), confirm=confirm)
    flush(db, ok(lid, "40.00", "unknown"), confirm=confirm)
    assert kinds(db, lid) == []
    assert current(db, lid)["known_availability"] == "in_stock"
    flush(db, ok(lid, "40.00", "out_of_stock"), confirm=confirm)
    if confirm:
        flush(db, ok(lid, "40.00", "out_of_stock"))
    assert kinds(db, lid) == [("sold_out", "in_stock", "out_of_stock")]


@pytest.mark.parametrize("confirm", [False, True])
def test_out_unknown_in_is_back_in_stock(db, lid, confirm):
    flush(db, ok(lid, "40.00", "out_of_stock"), confirm=confirm)
    flush(db, ok(lid, "40.00", "unknown"), confirm=confirm)
    flush(db, ok(lid, "40.00", "in_stock"), confirm=confirm)
    if confirm:
        flush(db, ok(lid, "40.00", "in_stock"))
    assert kinds(db, lid) == [("back_in_stock", "out_of_stock", "in_stock")]


def test_a_drop_read_without_stock_carries_the_last_known_stock(db, lid):
    flush(db, ok(lid, "40.00", "out_of_stock"))
    flush(db, ok(lid, "38.00", "unknown"))
    assert kinds(db, lid) == [("price_drop", "out_of_stock", "out_of_stock")]


def test_removed_failed_removed_is_not_a_removal(db, lid):
    flush(db, ok(lid))
    flush(db, removed(lid))
    flush(db, failed(lid, "http_503"))
    flush(db, removed(lid))
    assert scalar(db, "SELECT status FROM store_listings WHERE id = :l", l=lid) == "active"
    assert kinds(db, lid) == []
    flush(db, removed(lid))
    assert scalar(db, "SELECT status FROM store_listings WHERE id = :l", l=lid) == "removed"
    assert [k[0] for k in kinds(db, lid)] == ["removed"]


def test_a_first_gone_reading_is_read_again_at_once(db, lid):
    flush(db, ok(lid))
    assert not due_now(db, lid)
    flush(db, removed(lid))
    assert due_now(db, lid)
    flush(db, removed(lid))
    assert not due_now(db, lid), "a confirmed removal is checked rarely"


def test_a_sell_out_is_held_until_a_second_reading_agrees(db, lid):
    flush(db, ok(lid, "40.00", "in_stock"))
    result = flush(db, ok(lid, "40.00", "out_of_stock"))
    assert result.counts["held"] == 1 and result.event_ids == []
    assert current(db, lid)["availability"] == "in_stock", "a held reading is not applied"
    assert due_now(db, lid), "the second reading is scheduled at once"
    result = flush(db, ok(lid, "40.00", "out_of_stock"))
    assert len(result.event_ids) == 1 and kinds(db, lid)[0][0] == "sold_out"
    assert current(db, lid)["availability"] == "out_of_stock"
    assert scalar(db, "SELECT pending_at FROM store_listings WHERE id = :l", l=lid) is None


def test_a_flicker_that_the_next_reading_denies_is_dropped(db, lid):
    flush(db, ok(lid, "40.00", "in_stock"))
    flush(db, ok(lid, "40.00", "out_of_stock"))
    flush(db, ok(lid, "40.00", "in_stock"))
    assert kinds(db, lid) == []
    assert scalar(db, "SELECT pending_at FROM store_listings WHERE id = :l", l=lid) is None
    assert [h["availability"] for h in rows(db, "SELECT availability FROM price_history_log WHERE listing_id = :l",
                                            l=lid)] == ["in_stock"]


def test_a_failure_between_keeps_the_held_reading(db, lid):
    flush(db, ok(lid, "40.00", "in_stock"))
    flush(db, ok(lid, "40.00", "out_of_stock"))
    flush(db, failed(lid, "timeout"))
    flush(db, ok(lid, "40.00", "out_of_stock"))
    assert [k[0] for k in kinds(db, lid)] == ["sold_out"]


def test_price_moves_beyond_the_share_are_confirmed_and_small_ones_are_not(db, lid):
    flush(db, ok(lid, "100.00"))
    flush(db, ok(lid, "75.00"))  # 25%: applied at once
    assert current(db, lid)["price"] == Decimal("75.00")
    assert flush(db, ok(lid, "30.00")).counts["held"] == 1  # 60%
    assert current(db, lid)["price"] == Decimal("75.00")
    flush(db, ok(lid, "30.00"))
    assert current(db, lid)["price"] == Decimal("30.00")
    assert [k[0] for k in kinds(db, lid)] == ["price_drop", "price_drop"]


def test_a_page_that_disagrees_with_itself_every_time_is_not_crawled_every_tick(db, lid):
    flush(db, ok(lid, "100.00"))
    flush(db, ok(lid, "10.00"))
    assert due_now(db, lid)
    flush(db, ok(lid, "300.00"))
    assert not due_now(db, lid)
    assert current(db, lid)["price"] == Decimal("100.00")


def test_a_return_from_removed_is_confirmed(db, lid):
    flush(db, ok(lid, "40.00"))
    flush(db, removed(lid))
    flush(db, removed(lid))
    flush(db, ok(lid, "40.00"))
    assert scalar(db, "SELECT status FROM store_listings WHERE id = :l", l=lid) == "removed"
    flush(db, ok(lid, "40.00"))
    assert scalar(db, "SELECT status FROM store_listings WHERE id = :l", l=lid) == "active"
    assert [k[0] for k in kinds(db, lid)] == ["removed", "reappeared"]
