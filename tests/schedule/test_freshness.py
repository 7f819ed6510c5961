"""Freshness: change rates estimated from each listing's own visits, and each store's page budget
shared out by change rate and demand, with a guaranteed revisit for hot listings."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricehound import clock, freshness
from tests.schedule.conftest import watch_many

RATE = sa.text("SELECT pricehound_change_rate(CAST(:t AS real[]), CAST(:c AS boolean[]), :prior, :w)")


def rate(conn, seconds, changed, prior=1 / 86400, weight=0.0) -> float | None:
    return conn.execute(RATE, {"t": seconds, "c": changed, "prior": prior, "w": weight}).scalar_one()


def mle_by_bisection(seconds, changed) -> float:
    """The maximum-likelihood rate of the irregular-visit model, found the slow, obvious way."""
    def g(r):
        return (sum(t / math.expm1(r * t) for t, c in zip(seconds, changed, strict=True) if c)
                - sum(t for t, c in zip(seconds, changed, strict=True) if not c))
    lo, hi = 1e-12, 1.0
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    return lo


def test_regular_visits_give_the_textbook_estimate(db):
    # n visits an hour apart, X of them changed: the MLE is -log(1 - X/n) per hour
    with db.connect() as conn:
        got = rate(conn, [3600] * 4, [True, False, True, False])
    assert got * 3600 == pytest.approx(math.log(2), rel=1e-6)


def test_irregular_visits_solve_the_likelihood_exactly(db):
    rng = random.Random(3)
    seconds = [rng.uniform(60, 20000) for _ in range(40)]
    changed = [rng.random() < 0.4 for _ in seconds]
    with db.connect() as conn:
        got = rate(conn, seconds, changed)
    assert got == pytest.approx(mle_by_bisection(seconds, changed), rel=1e-5)


def test_a_change_seen_after_a_short_gap_means_more_than_after_a_long_one(db):
    # counting changes over time would call these equal; the likelihood does not
    with db.connect() as conn:
        short = rate(conn, [600, 7200, 7200, 7200], [True, False, False, False])
        long_ = rate(conn, [7200, 7200, 7200, 600], [True, False, False, True])
        naive_equal = rate(conn, [7200, 7200, 7200, 600], [True, False, False, False])
    assert short < naive_equal < long_


def test_no_evidence_gives_the_prior_and_unchanged_visits_pull_below_it(db):
    prior = 1 / 3600
    with db.connect() as conn:
        assert rate(conn, [], [], prior=prior, weight=0.1) == pytest.approx(prior)
        assert rate(conn, [3600] * 10, [False] * 10, prior=prior, weight=0.1) < prior / 50
        # every visit changed: still finite with a prior, undefined without one
        assert rate(conn, [600] * 3, [True] * 3, prior=prior, weight=0.1) > prior
        assert rate(conn, [600] * 3, [True] * 3, prior=prior, weight=0.0) is None


def test_the_writer_keeps_each_readings_interval_and_whether_it_changed(db, stores):
    from pipelines.flush import Row, flush_rows

    acme = stores("acme")
    with db.begin() as conn:
        [lid] = watch_many(conn, acme, ["/kettle"])
    t0 = clock.now()
    readings = [(0, "10.00"), (600, "10.00"), (1800, "9.00")]
    for offset, price in readings:
        at = t0 + timedelta(seconds=offset)
        with clock.frozen(at), db.begin() as conn:
            flush_rows(conn, [Row(lid, "ok", None, Decimal(price), "USD", None, "in_stock",
                                  None, None, None, None, at, False)], run_id=None)
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT change_window_seconds AS secs, change_window_changed AS seen "
                                   "FROM user_crawler_priorities WHERE listing_id = :l"), {"l": lid}).one()
    assert list(row.secs) == [600, 1200] and list(row.seen) == [False, True]


def _store_with_listings(db, stores, *, delay: str, hot_premium: int, n: int = 40):
    """A store with n one-watcher listings of mixed change histories and one listing watched by
    ``hot_premium`` premium users (demand 3 each)."""
    shop = stores("shop", delay=delay)
    with db.begin() as conn:
        ids = watch_many(conn, shop, [f"/p/{i}" for i in range(n)])
        hot = None
        for k in range(hot_premium):
            [hot] = watch_many(conn, shop, ["/hot"], email=f"vip{k}@example.com", premium=True)
        rng = random.Random(5)
        for lid in ids:
            p = rng.choice([0.02, 0.2, 0.9])
            conn.execute(sa.text(
                "UPDATE user_crawler_priorities SET change_window_seconds = CAST(:t AS real[]), "
                "change_window_changed = CAST(:c AS boolean[]) WHERE listing_id = :l"),
                {"t": [3600.0] * 12, "c": [rng.random() < p for _ in range(12)], "l": lid})
    return shop, ids, hot


def _planned(db):
    with db.connect() as conn:
        return conn.execute(sa.text(
            "SELECT listing_id, hot, change_rate, extract(epoch FROM revisit_interval)::float8 AS s "
            "FROM user_crawler_priorities WHERE watchers > 0")).all()


def test_the_plan_spends_the_budget_and_never_more(db, stores, settings):
    shop, ids, _ = _store_with_listings(db, stores, delay="30", hot_premium=0)  # 120 pages/h polite
    with db.begin() as conn:
        [plan] = freshness.plan(conn, settings, policy="budgeted")
    rows = _planned(db)
    spent = sum(3600 / r.s for r in rows)
    assert plan.budget_pages_per_hour == pytest.approx(120 * settings.revisit_budget_share)
    assert spent <= plan.budget_pages_per_hour * (1 + 1e-9)
    assert spent == pytest.approx(plan.budget_pages_per_hour, rel=1e-6)
    assert plan.planned_pages_per_hour == pytest.approx(spent, rel=1e-6)
    # the square-root rule: a listing that changes more often comes round more often
    by_rate = sorted(rows, key=lambda r: r.change_rate)
    assert by_rate[0].s > by_rate[-1].s
    for r in rows:
        assert 300 - 1e-6 <= r.s <= 6 * 3600 + 1e-6

    # what rendering or search takes is not the plan's to spend
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET reserved_pages_per_hour = 60 WHERE id = :s"), {"s": shop.id})
        [plan] = freshness.plan(conn, settings, policy="budgeted")
    assert plan.budget_pages_per_hour == pytest.approx(60 * settings.revisit_budget_share)
    assert sum(3600 / r.s for r in _planned(db)) <= plan.budget_pages_per_hour * (1 + 1e-9)


def test_a_hot_listing_gets_its_floor_when_the_budget_allows(db, stores, settings):
    _, _, hot = _store_with_listings(db, stores, delay="1", hot_premium=4)  # 3600 pages/h polite
    with db.begin() as conn:
        [plan] = freshness.plan(conn, settings, policy="budgeted")
    row = next(r for r in _planned(db) if r.listing_id == hot)
    assert row.hot and row.s <= settings.hot_max_revisit + 1e-6
    assert plan.floor_honoured and plan.hot_listings == 1 and plan.floor_shortfall is None
    assert "NOT HELD" not in freshness.render([plan])


def test_a_floor_the_budget_cannot_pay_for_is_reported_with_the_shortfall(db, stores, settings):
    _, _, hot = _store_with_listings(db, stores, delay="120", hot_premium=4)  # 30 pages/h polite
    with db.begin() as conn:
        [plan] = freshness.plan(conn, settings, policy="budgeted")
    rows = _planned(db)
    assert not plan.floor_honoured
    assert plan.floor_shortfall > timedelta(0)
    assert plan.hot_revisit == timedelta(seconds=next(r.s for r in rows if r.listing_id == hot))
    assert sum(3600 / r.s for r in rows) <= plan.budget_pages_per_hour * (1 + 1e-9)
    text = freshness.render([plan])
    assert "NOT HELD" in text and "cannot revisit its 1 hot listings every 3.0m" in text


def test_the_demand_policy_keeps_the_demand_schedule_and_still_reports(db, stores, settings):
    _store_with_listings(db, stores, delay="1", hot_premium=4)
    with db.begin() as conn:
        freshness.plan(conn, settings, policy="budgeted")
        [plan] = freshness.plan(conn, settings, policy="demand")
    assert all(r.s is None and r.change_rate is not None for r in _planned(db))
    # four premium watchers come round at the store's shortest interval (5 min): over 180 s
    assert plan.policy == "demand" and not plan.floor_honoured


def test_a_listing_that_starts_changing_often_is_visited_more_often_within_a_day(db, settings):
    from bench import freshness as sim

    switch = 6 * 3600.0
    listings = sim.make_listings(6, days=0.75, volatile_share=0.0, seed=2,
                                 rate_changes={0: (switch, 6.0)})  # every 10 min from 06:00
    watched = list(range(6)) * 2
    previous = clock.current()
    try:
        store_id = sim.seed_store(db, listings, watched, delay=1.0)
        result = sim.simulate(db, settings.with_overrides(revisit_budget_share=8 / 3600), listings, store_id,
                              policy="budgeted", days=0.75, delay=1.0, plan_every=1800.0)
    finally:
        clock.set_clock(previous)
    visits = result.visits[listings[0].listing_id]
    before = sum(1 for v in visits if 0 <= v < switch)
    after = sum(1 for v in visits if 2 * switch <= v < 3 * switch)  # from six hours after the switch
    assert after >= 2 * before, (before, after)


def test_watches_whose_target_is_near_the_price_make_a_listing_hot(db, stores, settings):
    shop = stores("shop", delay="1")
    with db.begin() as conn:
        for k in range(4):
            [near] = watch_many(conn, shop, ["/near"], email=f"n{k}@example.com")
            [far] = watch_many(conn, shop, ["/far"], email=f"f{k}@example.com")
        conn.execute(sa.text(
            "INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at) "
            "SELECT unnest(CAST(:ids AS bigint[])), 100, 'USD', 'in_stock', pricehound_now(), pricehound_now()"),
            {"ids": [near, far]})
        conn.execute(sa.text("UPDATE shopping_list_items SET target_price = CASE listing_id WHEN :n THEN 95 ELSE 50 END"),
                     {"n": near})
        freshness.plan(conn, settings, policy="budgeted")
        rows = {r.listing_id: r for r in conn.execute(sa.text(
            "SELECT listing_id, demand, hot FROM user_crawler_priorities")).all()}
    assert rows[near].demand == 12 and rows[near].hot
    assert rows[far].demand == 4 and not rows[far].hot
