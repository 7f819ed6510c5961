"""Product watches over the API, the catalogue endpoints, and the /go click-through."""

from __future__ import annotations

import sqlalchemy as sa

from pricehound import identity
from tests.identity.conftest import make_listing, make_store


def _catalogue(db):
    """A kettle at three shops (one in another currency), linked by GTIN; a blender nowhere."""
    with db.begin() as conn:
        shops = {s: make_store(conn, s) for s in ("alpha", "beta")}
        shops["gamma"] = make_store(conn, "gamma", currency="USD")
        a = make_listing(conn, shops["alpha"], "k", title="Acme Kettle 1.7 l", gtin="4006381333931", price="40.00")
        b = make_listing(conn, shops["beta"], "k", title="Acme Wasserkocher", gtin="4006381333931", price="38.00")
        c = make_listing(conn, shops["gamma"], "k", title="Acme Kettle", gtin="4006381333931", price="30.00",
                         currency="USD")
        identity.refresh_evidence(conn, [a, b, c])
        identity.link_listings(conn, [a, b, c])
        pid = conn.execute(sa.text("SELECT product_id FROM store_listings WHERE id = :l"), {"l": a}).scalar()
    return pid, a, b, c


def test_a_product_watch_over_the_api_shows_each_store(user_client, db):
    pid, a, b, _c = _catalogue(db)
    r = user_client.post("/v1/watches", json={"gtin": "4006381333931", "stores": ["alpha", "beta"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["product_id"] == pid and body["url"] is None
    assert [(s["store"], s["status"], s["go_url"]) for s in body["stores"]] == [
        ("alpha", "found", f"/go/{a}"), ("beta", "found", f"/go/{b}")]
    assert (body["price"], body["store"]) == ("38.00", "beta")  # the best in-stock offer
    r = user_client.post("/v1/watches", json={"product": "Zenit Blender", "stores": ["alpha"]})
    assert r.status_code == 201 and r.json()["stores"][0]["status"] == "not found at alpha yet"


def test_a_product_watch_with_bad_input_is_refused(user_client, db):
    _catalogue(db)
    for body, word in [({"gtin": "4006381333932"}, "GTIN"), ({"product": "x", "stores": ["nope"]}, "nope"),
                       ({"url": "https://www.alpha.example/k", "gtin": "4006381333931"}, "send one"),
                       ({}, "say what to watch")]:
        r = user_client.post("/v1/watches", json=body)
        assert r.status_code == 422 and word in r.json()["message"], (body, r.text)
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM shopping_list_items")).scalar() == 0


def test_products_search_and_compare_say_what_they_could_not_convert(user_client, db):
    pid, a, b, c = _catalogue(db)
    r = user_client.get("/v1/products", params={"q": "kettle"})
    assert r.status_code == 200 and [p["id"] for p in r.json()] == [pid]
    r = user_client.get(f"/v1/products/{pid}")
    body = r.json()
    assert body["currency"] == "EUR" and "USD" in body["note"] and "no exchange rate" in body["note"]
    assert body["cheapest"]["listing_id"] == b  # 30 USD is not compared without a rate
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO exchange_rates (currency, rate_date, per_eur) VALUES ('USD', '2026-12-04', 1.25)"))
    body = user_client.get(f"/v1/products/{pid}").json()
    assert body["cheapest"]["listing_id"] == c and body["cheapest"]["converted_price"] == "24.00"
    assert "converted" in body["note"]
    assert user_client.get("/v1/products/999999").status_code == 404
    with db.connect() as conn:
        searches = conn.execute(sa.text("SELECT listing_id FROM user_activity WHERE kind = 'search'")).scalars().all()
    assert sorted(x for x in searches if x) == sorted([a, b, c])  # a search is demand for what it found


def test_go_redirects_only_to_the_listings_own_url_and_records_the_click(user_client, client, db):
    _pid, a, _b, _c = _catalogue(db)
    r = user_client.get(f"/go/{a}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "https://www.alpha.example/k"
    # nothing in the request can steer it elsewhere
    r = user_client.get(f"/go/{a}?url=https://evil.example/&next=//evil.example", follow_redirects=False)
    assert r.headers["location"] == "https://www.alpha.example/k"
    assert client.get("/go/999999", follow_redirects=False).status_code == 404
    assert client.get("/go/https:%2F%2Fevil.example", follow_redirects=False).status_code in (404, 422)
    with db.connect() as conn:
        clicks = conn.execute(sa.text("SELECT listing_id FROM user_activity WHERE kind = 'click'")).scalars().all()
    assert clicks == [a]  # the repeat inside the window is one click


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_manage_page_searches_watches_and_shows_stores_side_by_side(user_client, db):
    pid, a, b, _c = _catalogue(db)
    page = user_client.get("/manage", params={"q": "kettle"}).text
    assert f'value="#{pid}"' in page and "Acme Kettle" in page
    csrf = _csrf(page)
    r = user_client.post("/manage/products/watch", data={"csrf_token": csrf, "product": f"#{pid}",
                                                         "stores": ["alpha", "beta"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = user_client.post("/manage/products/watch", data={"csrf_token": csrf, "product": "Zenit Blender",
                                                         "stores": ["alpha"]}, follow_redirects=False)
    assert r.status_code == 303
    page = user_client.get("/manage").text
    assert f'href="/go/{a}"' in page and f'href="/go/{b}"' in page
    assert "best in stock 38.00 EUR at beta" in page and "not found at alpha yet" in page
    # the form needs the session's CSRF token
    r = user_client.post("/manage/products/watch", data={"csrf_token": "0" * 64, "product": "x"},
                         follow_redirects=False)
    assert r.status_code in (400, 403)
