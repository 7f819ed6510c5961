"""/metrics and the workers' exporter read real rows; beat's heartbeat and its health check."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families


def parse(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture()
def busy(db, shop, redis_client):
    """A cluster caught mid-work: finished runs with stats, a held run, events, emails in every
    state, due pages that have waited, a store behind its breaker, queued messages, a heartbeat."""
    from pricehound import heartbeat

    store, (first, second, third) = shop
    with db.begin() as conn:
        q = lambda sql, **p: conn.execute(sa.text(sql), p)  # noqa: E731
        q("""INSERT INTO crawl_runs (store_id, status, requested, ok, removed, failed, dropped, stats,
                                     queued_at, started_at, finished_at, held_state)
             VALUES (:s, 'succeeded', 5, 3, 1, 1, 0,
                     '{"downloader/response_count": 7, "pricehound/failed/timeout": 1,
                       "pricehound/removed/http_404": 1, "finish_reason": "finished"}',
                     pricehound_now() - interval '10 minutes', pricehound_now() - interval '9 minutes',
                     pricehound_now() - interval '8 minutes', NULL),
                    (:s, 'failed', 2, 0, 0, 2, 1,
                     '{"downloader/response_count": 2, "pricehound/failed/http_5xx": 2, "pricehound/dropped/zero": 1}',
                     pricehound_now() - interval '5 minutes', pricehound_now() - interval '5 minutes',
                     pricehound_now() - interval '4 minutes', 'held'),
                    (:s, 'succeeded', 9, 9, 0, 0, 0, '{"downloader/response_count": 900}',
                     pricehound_now() - interval '3 hours', pricehound_now() - interval '3 hours',
                     pricehound_now() - interval '3 hours', NULL)""", s=store.id)
        q("""INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, occurred_at)
             VALUES (:l, 'price_drop', 10, 8, 'EUR', pricehound_now() - interval '1 minute'),
                    (:l, 'price_drop', 8, 7, 'EUR', pricehound_now() - interval '2 minutes'),
                    (:l, 'sold_out', NULL, NULL, NULL, pricehound_now() - interval '3 minutes'),
                    (:l, 'price_rise', 7, 9, 'EUR', pricehound_now() - interval '2 days')""", l=first.listing_id)
        user = q("SELECT id FROM users WHERE email = 'ann@example.com'").scalar_one()
        for i, (state, sent) in enumerate([("pending", False), ("pending", False), ("sending", False),
                                           ("sent", True), ("sent", True), ("failed", False), ("suppressed", False)]):
            q("""INSERT INTO notifications (user_id, kind, dedupe_key, status, sent_at)
                 VALUES (:u, 'price_drop', :k, :st, CASE WHEN :sent THEN pricehound_now() END)""",
              u=user, k=f"k{i}", st=state, sent=sent)
        # local's two pages came due 2 and 20 minutes ago; other's page is behind its breaker
        q("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() - interval '2 minutes' WHERE listing_id = :l",
          l=first.listing_id)
        q("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() - interval '20 minutes' WHERE listing_id = :l",
          l=second.listing_id)
        q("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '1 hour' WHERE listing_id = :l",
          l=third.listing_id)
        q("UPDATE stores SET failure_streak = 3, paused_until = pricehound_now() + interval '5 minutes' "
          "WHERE slug = 'other'")
    redis_client.rpush("crawl", b"m1", b"m2", b"m3")
    redis_client.rpush("email\x06\x163", b"m")  # a prioritised message counts too
    heartbeat.beat(redis_client)
    return shop


def test_metrics_show_every_figure_from_real_rows(cli, busy):
    result = cli("metrics", "show")
    assert result.returncode == 0, result.stderr
    m = parse(result.stdout)
    assert m[("pricehound_up", (("server", "postgresql"),))] == 1
    assert m[("pricehound_up", (("server", "redis"),))] == 1
    assert m[("pricehound_crawl_pages_fetched_last_hour", ())] == 9  # the 3-hour-old run is outside
    assert m[("pricehound_crawl_runs_last_hour", (("status", "succeeded"),))] == 1
    assert m[("pricehound_crawl_runs_last_hour", (("status", "failed"),))] == 1
    assert m[("pricehound_observations_last_hour", (("outcome", "ok"),))] == 3
    assert m[("pricehound_observations_last_hour", (("outcome", "failed"),))] == 3
    assert m[("pricehound_observations_last_hour", (("outcome", "dropped"),))] == 1
    assert m[("pricehound_observation_reasons_last_hour", (("outcome", "failed"), ("reason", "http_5xx")))] == 2
    assert m[("pricehound_observation_reasons_last_hour", (("outcome", "failed"), ("reason", "timeout")))] == 1
    assert m[("pricehound_observation_reasons_last_hour", (("outcome", "removed"), ("reason", "http_404")))] == 1
    assert m[("pricehound_observation_reasons_last_hour", (("outcome", "dropped"), ("reason", "zero")))] == 1
    assert m[("pricehound_crawl_runs_held", ())] == 1
    assert m[("pricehound_events_last_hour", (("kind", "price_drop"),))] == 2
    assert m[("pricehound_events_last_hour", (("kind", "sold_out"),))] == 1
    assert ("pricehound_events_last_hour", (("kind", "price_rise"),)) not in m  # two days old
    assert m[("pricehound_notifications", (("state", "pending"),))] == 2
    assert m[("pricehound_notifications", (("state", "sending"),))] == 1
    assert m[("pricehound_notifications_last_hour", (("state", "sent"),))] == 2
    assert m[("pricehound_notifications_last_hour", (("state", "failed"),))] == 1
    assert m[("pricehound_notifications_last_hour", (("state", "suppressed"),))] == 1
    assert m[("pricehound_email_send_rate", ())] == pytest.approx(2 / 60, abs=1e-3)
    assert m[("pricehound_queue_depth", (("queue", "crawl"),))] == 3
    assert m[("pricehound_queue_depth", (("queue", "email"),))] == 1
    assert m[("pricehound_store_breaker_open", (("store", "other"),))] == 1
    assert m[("pricehound_store_breaker_open", (("store", "local"),))] == 0
    assert m[("pricehound_store_failure_streak", (("store", "other"),))] == 3
    assert m[("pricehound_store_oldest_due_seconds", (("store", "local"),))] == pytest.approx(1200, abs=30)
    assert m[("pricehound_frontier_due_targets", ())] == 2
    assert m[("pricehound_frontier_oldest_due_seconds", ())] == pytest.approx(1200, abs=30)
    assert m[("pricehound_frontier_due_wait_seconds_bucket", (("le", "60.0"),))] == 0
    assert m[("pricehound_frontier_due_wait_seconds_bucket", (("le", "300.0"),))] == 1
    assert m[("pricehound_frontier_due_wait_seconds_bucket", (("le", "1800.0"),))] == 2
    assert m[("pricehound_frontier_due_wait_seconds_gcount", ())] == 2
    assert m[("pricehound_frontier_due_wait_quantile_seconds", (("quantile", "0.5"),))] == pytest.approx(660, abs=30)
    assert 0 <= m[("pricehound_beat_heartbeat_age_seconds", ())] < 60
    # a store paused by an operator shows as paused and leaves freshness
    assert cli("stores", "pause", "local").returncode == 0
    m = parse(cli("metrics", "show").stdout)
    assert m[("pricehound_store_paused", (("store", "local"),))] == 1
    assert m[("pricehound_frontier_due_targets", ())] == 0


def test_web_metrics_endpoint_serves_the_same_figures_and_asks_for_a_set_token(settings, busy):
    from fastapi.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(settings), base_url="http://testserver") as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    m = parse(response.text)
    assert m[("pricehound_crawl_runs_held", ())] == 1
    assert m[("pricehound_queue_depth", (("queue", "crawl"),))] == 3
    app = create_app(settings.with_overrides(metrics_token="s3cret-metrics-token"))
    with TestClient(app, base_url="http://testserver") as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert ok.status_code == 200 and "pricehound_up" in ok.text


def test_metrics_report_an_unreachable_database_instead_of_failing(settings, redis_client):
    from prometheus_client import generate_latest

    from pricehound import metrics
    from pricehound.db import get_engine

    dead = get_engine(settings.with_overrides(database_url="postgresql://postgres@127.0.0.1:1/none"))
    m = parse(generate_latest(metrics.registry(dead, redis_client)).decode())
    assert m[("pricehound_up", (("server", "postgresql"),))] == 0
    assert m[("pricehound_up", (("server", "redis"),))] == 1


# -- beat's heartbeat --------------------------------------------------------------------------------

def test_beat_health_exit_codes_follow_the_heartbeat(cli, redis_client):
    from pricehound import clock, heartbeat

    never = cli("beat", "health")
    assert never.returncode == 1 and "no heartbeat" in never.stderr
    heartbeat.beat(redis_client)
    fresh = cli("beat", "health")
    assert fresh.returncode == 0 and "alive" in fresh.stdout
    with clock.shifted(timedelta(minutes=10)):  # ten minutes without a beat
        stale = cli("beat", "health")
        assert stale.returncode == 1 and "down or stuck" in stale.stderr
        assert cli("beat", "health", "--max-age", "900").returncode == 0


def test_beat_scheduler_writes_the_heartbeat_on_its_ticks(redis_client, settings):
    from celery.beat import Service

    from pricehound import heartbeat
    from workers import app
    from workers.heartbeat import HeartbeatScheduler

    assert app.conf.beat_scheduler == "workers.heartbeat:HeartbeatScheduler"
    service = Service(app, scheduler_cls=HeartbeatScheduler,
                      schedule_filename=str(settings.data_dir / "beat-test-schedule"))
    scheduler = service.get_scheduler()
    try:
        assert heartbeat.age(redis_client) is None
        scheduler.tick()
        assert heartbeat.age(redis_client) is not None and heartbeat.age(redis_client) < 5
    finally:
        scheduler.close()


def test_compose_checks_beat_with_the_health_command():
    import yaml

    from tests.conftest import REPO_ROOT

    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    check = compose["services"]["beat"]["healthcheck"]["test"]
    assert "pricehound beat health" in " ".join(check)


def test_grafana_dashboard_queries_only_metrics_that_exist():
    import re

    from prometheus_client import CollectorRegistry, generate_latest

    from pricehound import metrics
    from tests.conftest import REPO_ROOT

    class Everything:
        def collect(self):
            snap = metrics.Snapshot(database_up=True, redis_up=True, queues={"crawl": 0},
                                    reasons={"pricehound/failed/timeout": 1}, events={"price_drop": 1},
                                    stores=[{"store": "s", "operator_paused": False, "breaker_open": False,
                                             "failure_streak": 0, "oldest_due_seconds": 0}])
            return metrics.families(snap)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Everything())
    names = {name for name, _labels in parse(generate_latest(registry).decode())}
    dashboard = json.loads((REPO_ROOT / "deploy" / "grafana" / "pricehound.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = {m for e in exprs for m in re.findall(r"pricehound_[a-z_]+", e)}
    assert len(used) >= 15
    assert used <= names, used - names
