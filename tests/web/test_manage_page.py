"""The manage page: prices, 90-day low, chart, and CSRF-protected forms that change watches."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.web.conftest import add_priced_watch


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _watch_row(db, watch_id: int):
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT target_price, active FROM shopping_list_items WHERE id = :id"),
                            {"id": watch_id}).one_or_none()


def test_without_a_session_the_page_sends_you_to_sign_in(client):
    r = client.get("/manage")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/manage"


def test_each_watch_shows_price_availability_90_day_low_and_a_chart(user_client, db, store):
    add_priced_watch(db, "ann@example.com", 1, prices=[(120, "50.00"), (40, "20.00"), (3, "35.00")],
                     title="Espresso <Machine>")
    add_priced_watch(db, "ann@example.com", 2, prices=[(5, "9.99")], availability="out_of_stock")
    page = user_client.get("/manage")
    assert page.status_code == 200
    html = page.text
    assert "Espresso &lt;Machine&gt;" in html and "<Machine>" not in html  # escaped
    first = html.split('id="watch-', 2)[1]
    assert "35.00 EUR" in first and "In stock" in first
    assert re.search(r'class="lowest">20.00 EUR', first)  # the low 40 days ago, inside 90 days
    assert "<svg" in first and "<polyline" in first and 'role="img"' in first
    assert "Sold out" in html.split('id="watch-', 2)[2]
    with db.connect() as conn:
        views = conn.execute(sa.text("SELECT count(*) FROM user_activity WHERE kind = 'view'")).scalar_one()
    assert views == 2
    user_client.get("/manage")  # a reload inside the hour is the same view
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM user_activity WHERE kind = 'view'")).scalar_one() == 2


def test_the_chart_reads_without_hover_dates_prices_target_low_and_sold_out_spans(user_client, db, store):
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(60, "50.00"), (40, "20.00"), (3, "35.00")])
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET target_price = 30 WHERE id = :w"), {"w": watch.watch_id})
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
            "VALUES (:l, :t, 20.00, 'EUR', 'out_of_stock')"),
            {"l": watch.listing_id, "t": datetime.now(timezone.utc) - timedelta(days=20)})
    html = user_client.get("/manage").text
    svg = html.split('id="watch-', 1)[1].split("<svg", 1)[1].split("</svg>", 1)[0]
    x_labels = re.findall(r'<text x="[\d.]+" y="[\d.]+">(\d{1,2} [A-Z][a-z]{2})</text>', svg)
    assert len(x_labels) == 4
    sixty_days_ago = datetime.now(timezone.utc) - timedelta(days=60)
    assert x_labels[0] == f"{sixty_days_ago.day} {sixty_days_ago:%b}"
    y_labels = re.findall(r">([\d,.]+) EUR</text>", svg)
    assert [Decimal(v) for v in y_labels] == [Decimal("20.00"), Decimal("35.00"), Decimal("50.00")]
    assert re.search(r'class="target-line".*<line [^>]*stroke-dasharray.*>Target 30.00</text>', svg)
    assert re.search(r'class="low-line".*<line [^>]*stroke-dasharray.*>90-day low 20.00</text>', svg)
    assert len(re.findall(r'<rect class="sold-out"', svg)) == 1
    assert "style=" not in svg and "<script" not in svg  # nothing the page CSP would block


def test_target_pause_resume_and_delete_forms_change_the_watch(user_client, db, store):
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(3, "35.00")])
    csrf = _csrf(user_client.get("/manage").text)
    base = f"/manage/watches/{watch.watch_id}"
    r = user_client.post(f"{base}/target", data={"csrf_token": csrf, "target_price": "29.50"})
    assert r.status_code == 303 and r.headers["location"] == f"/manage?msg=saved#watch-{watch.watch_id}"
    assert str(_watch_row(db, watch.watch_id).target_price) == "29.50"
    assert "Target price saved." in user_client.get(r.headers["location"]).text
    user_client.post(f"{base}/pause", data={"csrf_token": csrf})
    assert _watch_row(db, watch.watch_id).active is False
    assert "Paused" in user_client.get("/manage").text
    user_client.post(f"{base}/resume", data={"csrf_token": csrf})
    assert _watch_row(db, watch.watch_id).active is True
    user_client.post(f"{base}/target", data={"csrf_token": csrf, "target_price": ""})
    assert _watch_row(db, watch.watch_id).target_price is None
    bad = user_client.post(f"{base}/target", data={"csrf_token": csrf, "target_price": "cheap"})
    assert bad.status_code == 422 and "target price must be a number" in bad.text
    user_client.post(f"{base}/delete", data={"csrf_token": csrf})
    assert _watch_row(db, watch.watch_id) is None


def test_forms_without_the_right_csrf_token_are_refused(user_client, db, store):
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(3, "35.00")])
    base = f"/manage/watches/{watch.watch_id}"
    for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": ""}):
        for action in ("target", "pause", "delete"):
            r = user_client.post(f"{base}/{action}", data={**data, "target_price": "1.00"})
            assert r.status_code == 403, (action, data)
            assert "did not come from this site" in r.text
    assert _watch_row(db, watch.watch_id) == (None, True)


def test_a_csrf_token_from_another_browser_does_not_work(user_client, client_factory_token, db, store):
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(3, "35.00")])
    r = user_client.post(f"/manage/watches/{watch.watch_id}/pause", data={"csrf_token": client_factory_token})
    assert r.status_code == 403


def test_turning_emails_back_on_after_unsubscribing_from_everything(user_client, db, store):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO email_suppressions (email, reason) VALUES "
                             "('ann@example.com', 'unsubscribe')"))
    html = user_client.get("/manage").text
    assert "Emails are off" in html
    r = user_client.post("/manage/email/resume", data={"csrf_token": _csrf(html)})
    assert r.status_code == 303
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM email_suppressions")).scalar_one() == 0
    with db.begin() as conn:  # a bounce is never lifted from here
        conn.execute(sa.text("INSERT INTO email_suppressions (email, reason) VALUES ('ann@example.com', 'bounce')"))
    user_client.post("/manage/email/resume", data={"csrf_token": _csrf(html)})
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT reason FROM email_suppressions")).scalar_one() == "bounce"
