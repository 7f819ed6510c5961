"""The watches and lists API for a signed-in user: success and failure paths, demand signals."""

from __future__ import annotations

import sqlalchemy as sa

from tests.web.conftest import STORE_HOST, add_priced_watch, make_user, product_url, sign_in


def _activity(db) -> list[tuple[str, int]]:
    with db.connect() as conn:
        return [(r.kind, r.listing_id) for r in conn.execute(
            sa.text("SELECT kind, listing_id FROM user_activity ORDER BY id"))]


def test_every_watch_endpoint_needs_a_session(client):
    for method, path in [("GET", "/v1/watches"), ("POST", "/v1/watches"), ("GET", "/v1/watches/1"),
                         ("PATCH", "/v1/watches/1"), ("DELETE", "/v1/watches/1"),
                         ("GET", "/v1/watches/1/history"), ("GET", "/v1/lists"), ("POST", "/v1/lists"),
                         ("GET", "/v1/me"), ("DELETE", "/v1/session")]:
        r = client.request(method, path, json={} if method in ("POST", "PATCH") else None)
        assert r.status_code == 401, (method, path)
        assert r.json()["error"] == "unauthorized"


def test_adding_a_watch_returns_it_and_records_an_add(user_client, db, store):
    r = user_client.post("/v1/watches", json={"url": product_url(1) + "?utm_source=mail#reviews",
                                              "target_price": "49.90", "min_drop_percent": 10,
                                              "notify": ["sale", "back_in_stock"]})
    assert r.status_code == 201, r.text
    watch = r.json()
    assert watch["url"] == product_url(1)
    assert (watch["store"], watch["target_price"], watch["min_drop_percent"]) == ("local", "49.90", "10.00")
    assert watch["notify"] == ["sale", "back_in_stock"]
    assert watch["active"] is True and watch["list_name"] == "Watching"
    assert watch["price"] is None and watch["availability"] == "unknown"
    with db.connect() as conn:
        frontier = conn.execute(sa.text("SELECT watchers FROM user_crawler_priorities")).scalar_one()
        listing_id = conn.execute(sa.text("SELECT id FROM store_listings")).scalar_one()
    assert frontier == 1
    assert _activity(db) == [("add", listing_id)]


def test_urls_on_no_store_or_failing_the_safety_rules_get_a_422_that_says_why(user_client, db, store):
    cases = {
        "https://unknown-shop.example/p/1": "not on any store",
        "ftp://127.0.0.1:8765/p/1": "only http and https",
        "http://user:pw@127.0.0.1:8765/p/1": "user name or password",
        "http://169.254.169.254/latest/meta-data": "not on any store",
        "not a url": "",
    }
    for url, reason in cases.items():
        r = user_client.post("/v1/watches", json={"url": url})
        assert r.status_code == 422, url
        body = r.json()
        assert body["error"] == "invalid_input" and reason in body["message"], (url, body)
    for body in ({"url": product_url(1), "target_price": "-1"}, {"url": product_url(1), "target_price": "abc"},
                 {"url": product_url(1), "min_drop_percent": 101}, {"url": product_url(1), "notify": ["spam"]},
                 {"url": product_url(1), "notify": []}, {"url": product_url(1), "colour": "red"}, {},
                 {"url": product_url(1), "notify": ["sale", "cheapest_store"]}):
        r = user_client.post("/v1/watches", json=body)
        assert r.status_code == 422, body
        assert r.json()["message"]
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM shopping_list_items")).scalar_one() == 0


def test_watches_are_listed_a_page_at_a_time_with_price_and_90_day_low(user_client, db, store):
    ids = [add_priced_watch(db, "ann@example.com", n, prices=[(60, "30.00"), (10, "25.00"), (1, "28.00")]).watch_id
           for n in range(1, 6)]
    first = user_client.get("/v1/watches", params={"limit": 2}).json()
    assert [w["id"] for w in first["watches"]] == ids[:2]
    assert first["next_after"] == ids[1]
    w = first["watches"][0]
    assert (w["price"], w["currency"], w["availability"], w["lowest_90d"]) == ("28.00", "EUR", "in_stock", "25.00")
    rest = user_client.get("/v1/watches", params={"limit": 2, "after": first["next_after"]}).json()
    assert [w["id"] for w in rest["watches"]] == ids[2:4]
    last = user_client.get("/v1/watches", params={"limit": 2, "after": rest["next_after"]}).json()
    assert [w["id"] for w in last["watches"]] == ids[4:] and last["next_after"] is None
    assert user_client.get("/v1/watches", params={"limit": 0}).status_code == 422
    assert user_client.get("/v1/watches", params={"limit": 500}).status_code == 422


def test_one_watch_and_its_history_record_a_view_once_per_hour(user_client, db, store):
    priced = add_priced_watch(db, "ann@example.com", 1, prices=[(200, "40.00"), (30, "35.00"), (2, "30.00")])
    r = user_client.get(f"/v1/watches/{priced.watch_id}")
    assert r.status_code == 200 and r.json()["title"] == "Kettle 1"
    history = user_client.get(f"/v1/watches/{priced.watch_id}/history", params={"days": 90}).json()
    # the price in effect when the window opened, then every change inside it
    assert [p["price"] for p in history["points"]] == ["40.00", "35.00", "30.00"]
    assert history["points"][0]["observed_at"] < history["points"][1]["observed_at"]
    assert user_client.get(f"/v1/watches/{priced.watch_id}/history", params={"days": 0}).status_code == 422
    assert _activity(db).count(("view", priced.listing_id)) == 1


def test_changing_a_watch_touches_only_the_fields_sent(user_client, db, store):
    watch = user_client.post("/v1/watches", json={"url": product_url(1), "target_price": "10.00",
                                                  "min_drop_percent": "5"}).json()
    r = user_client.patch(f"/v1/watches/{watch['id']}", json={"target_price": "8.50"})
    assert r.status_code == 200
    assert (r.json()["target_price"], r.json()["min_drop_percent"]) == ("8.50", "5.00")
    r = user_client.patch(f"/v1/watches/{watch['id']}", json={"active": False, "notify": ["sold_out"]})
    assert (r.json()["active"], r.json()["notify"], r.json()["target_price"]) == (False, ["sold_out"], "8.50")
    r = user_client.patch(f"/v1/watches/{watch['id']}", json={"target_price": None})
    assert r.json()["target_price"] is None
    for bad in ({"target_price": "-3"}, {"min_drop_percent": None}, {"notify": ["nope"]}, {"active": "maybe"},
                {"url": "http://x"}):
        assert user_client.patch(f"/v1/watches/{watch['id']}", json=bad).status_code == 422, bad
    assert user_client.patch("/v1/watches/999999", json={"active": True}).status_code == 404


def test_deleting_a_watch_removes_it_and_records_a_removal(user_client, db, store):
    watch = user_client.post("/v1/watches", json={"url": product_url(1)}).json()
    assert user_client.delete(f"/v1/watches/{watch['id']}").status_code == 204
    assert user_client.delete(f"/v1/watches/{watch['id']}").status_code == 404
    assert user_client.get(f"/v1/watches/{watch['id']}").status_code == 404
    assert [kind for kind, _ in _activity(db)] == ["add", "remove"]
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT watchers FROM user_crawler_priorities")).scalar_one() == 0


def test_another_users_watch_behaves_as_missing(client, db, settings, store):
    other = make_user(db, "bob@example.com")
    theirs = add_priced_watch(db, "bob@example.com", 1, prices=[(1, "9.99")])
    sign_in(client, db, settings, make_user(db, "ann@example.com"))
    for method in ("GET", "DELETE"):
        assert client.request(method, f"/v1/watches/{theirs.watch_id}").status_code == 404
    assert client.patch(f"/v1/watches/{theirs.watch_id}", json={"active": False}).status_code == 404
    assert client.get(f"/v1/watches/{theirs.watch_id}/history").status_code == 404
    assert client.get("/v1/watches").json()["watches"] == []
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT active FROM shopping_list_items")).scalar_one() is True
    assert other


def test_cross_site_writes_with_a_session_are_refused(user_client, store, settings):
    r = user_client.post("/v1/watches", json={"url": product_url(1)}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = user_client.post("/v1/watches", content=f'{{"url": "{product_url(1)}"}}',
                         headers={"content-type": "text/plain"})
    assert r.status_code == 422  # a form or text/plain post is not JSON, so it does nothing
    ok = user_client.post("/v1/watches", json={"url": product_url(1)}, headers={"origin": settings.public_url})
    assert ok.status_code == 201


def test_lists_are_listed_and_created_once(user_client, db, store):
    assert user_client.get("/v1/lists").json() == []
    r = user_client.post("/v1/lists", json={"name": "  Birthday  "})
    assert r.status_code == 201 and r.json()["name"] == "Birthday" and r.json()["watches"] == 0
    assert user_client.post("/v1/lists", json={"name": "Birthday"}).status_code == 409
    assert user_client.post("/v1/lists", json={"name": ""}).status_code == 422
    assert user_client.post("/v1/lists", json={"name": "x" * 201}).status_code == 422
    user_client.post("/v1/watches", json={"url": product_url(1), "list": "Birthday"})
    user_client.post("/v1/watches", json={"url": product_url(2)})
    lists = {item["name"]: item["watches"] for item in user_client.get("/v1/lists").json()}
    assert lists == {"Birthday": 1, "Watching": 1}
    birthday_id = next(i["id"] for i in user_client.get("/v1/lists").json() if i["name"] == "Birthday")
    only = user_client.get("/v1/watches", params={"list_id": birthday_id}).json()["watches"]
    assert [w["url"] for w in only] == [product_url(1)]
    assert STORE_HOST in only[0]["url"]
