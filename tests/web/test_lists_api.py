"""Shopping lists over HTTP: totals, quantities and bought items, sharing by email and by a
signed link (forged, expired and revoked links refused), never telling who has an account."""

from __future__ import annotations

import sqlalchemy as sa

from pricehound import lists, tokens
from tests.web.conftest import add_priced_watch, make_user, sign_in


def _list_id(db) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM shopping_lists")).scalar_one()


def test_a_list_shows_its_totals_and_items_change_quantity_and_get_ticked_off(user_client, db, store):
    first = add_priced_watch(db, "ann@example.com", 1, prices=[(3, "10.00")])
    add_priced_watch(db, "ann@example.com", 2, prices=[(3, "4.50")])
    list_id = _list_id(db)
    body = user_client.get(f"/v1/lists/{list_id}").json()
    assert [t["cheapest_mix"] for t in body["totals"]] == ["14.50"]
    assert body["totals"][0]["single_store"] == "local" and body["totals"][0]["single_store_missing"] == 0

    r = user_client.patch(f"/v1/lists/{list_id}/items/{first.watch_id}", json={"quantity": 3})
    assert r.status_code == 200 and r.json()["totals"][0]["cheapest_mix"] == "34.50"
    r = user_client.patch(f"/v1/lists/{list_id}/items/{first.watch_id}", json={"bought": True})
    assert r.json()["totals"][0]["cheapest_mix"] == "4.50" and r.json()["to_buy"] == 1
    r = user_client.patch(f"/v1/lists/{list_id}", json={"description": "for the new flat", "stores": ["local"]})
    assert (r.json()["description"], r.json()["stores"]) == ("for the new flat", ["local"])
    assert user_client.patch(f"/v1/lists/{list_id}/items/{first.watch_id}", json={"quantity": 0}).status_code == 422
    assert user_client.patch(f"/v1/lists/{list_id}", json={"stores": ["nowhere"]}).status_code == 422


def test_sharing_by_email_never_tells_who_has_an_account_and_lets_only_them_read(user_client, db, settings, store):
    add_priced_watch(db, "ann@example.com", 1, prices=[(3, "10.00")])
    list_id = _list_id(db)
    bob = make_user(db, "bob@example.com")
    make_user(db, "eve@example.com")
    for email in ("bob@example.com", "nobody@example.com"):
        r = user_client.post(f"/v1/lists/{list_id}/shares", json={"email": email})
        assert r.status_code == 202 and r.json()["status"] == "accepted"
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT user_id FROM shopping_list_shares")).scalars().all() == [bob]
    # bob reads it, and cannot change it; eve cannot see it at all
    sign_in(user_client, db, settings, bob)
    assert user_client.get(f"/v1/lists/{list_id}").json()["owner"] == "ann@example.com"
    assert user_client.patch(f"/v1/lists/{list_id}", json={"description": "mine now"}).status_code == 404
    eve = make_user(db, "eve2@example.com")
    sign_in(user_client, db, settings, eve)
    assert user_client.get(f"/v1/lists/{list_id}").status_code == 404


def test_a_share_link_shows_the_list_until_revoked_and_forged_or_expired_links_are_refused(
        user_client, client, db, settings, store):
    add_priced_watch(db, "ann@example.com", 1, prices=[(3, "10.00")], title="Gooseneck kettle")
    list_id = _list_id(db)
    url = user_client.post(f"/v1/lists/{list_id}/link", json={"days": 7}).json()["url"]
    token = url.split("token=", 1)[1]
    user_client.cookies.clear()
    page = client.get(f"/lists/shared?token={token}")
    assert page.status_code == 200 and "Gooseneck kettle" in page.text and "10.00 EUR" in page.text
    assert client.get("/v1/shared-lists", params={"token": token}).json()["name"] == "Watching"

    body, mac = token.split(".")
    forged = f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{mac}"
    expired = tokens.sign(lists.SHARE_PURPOSE, {"l": list_id, "g": 0}, settings.signing_secret, max_age=60,
                          now=1_000_000_000)
    for bad in (forged, expired):
        assert client.get("/v1/shared-lists", params={"token": bad}).status_code == 404
        assert client.get(f"/lists/shared?token={bad}").status_code == 404

    owner = make_user(db, "ann2@example.com")  # sign the owner back in to revoke
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_lists SET user_id = :u"), {"u": owner})
    sign_in(client, db, settings, owner)
    assert client.delete(f"/v1/lists/{list_id}/link").status_code == 204
    client.cookies.clear()
    assert client.get("/v1/shared-lists", params={"token": token}).status_code == 404


def test_a_product_watch_says_where_it_was_found_and_where_not_yet(user_client, db, user_id, store):
    with db.begin() as conn:
        other = conn.execute(sa.text("INSERT INTO stores (slug, name, allowed_domains) VALUES ('acme', 'Acme', "
                                     "'{acme.example}') RETURNING id")).scalar_one()
        product = conn.execute(sa.text("INSERT INTO branded_products (name) VALUES ('Kettle') RETURNING id")).scalar_one()
        listing = conn.execute(sa.text("INSERT INTO store_listings (store_id, url, product_id) VALUES (:s, "
                                       "'http://shop.test/p/1', :p) RETURNING id"),
                               {"s": store.id, "p": product}).scalar_one()
        conn.execute(sa.text("INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, "
                             "changed_at) VALUES (:l, 12.50, 'EUR', 'in_stock', now(), now())"), {"l": listing})
        list_id = conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'W') RETURNING id"),
                               {"u": user_id}).scalar_one()
        item = conn.execute(sa.text("INSERT INTO shopping_list_items (list_id, product_id, preferred_store_ids) "
                                    "VALUES (:l, :p, :s) RETURNING id"),
                            {"l": list_id, "p": product, "s": [store.id, other]}).scalar_one()
        conn.execute(sa.text("UPDATE search_targets SET status = 'not_found', status_rule = 'discovery.no_results' "
                             "WHERE store_id = :s"), {"s": other})
    body = user_client.get(f"/v1/watches/{item}/stores").json()
    assert [(s["store"], s["state"], s["message"]) for s in body] == [
        ("acme", "not_found", "not found at acme yet"), ("local", "found", "found at local")]
    assert body[1]["price"] == "12.50" and body[0]["next_search_at"] is not None
    assert user_client.get("/v1/watches/999999/stores").status_code == 404


def test_the_lists_page_ticks_items_off_and_shares_with_csrf_protected_forms(user_client, db, store):
    import re

    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(3, "10.00")], title="Gooseneck kettle")
    list_id = _list_id(db)
    page = user_client.get("/manage/lists")
    assert page.status_code == 200 and "Gooseneck kettle" in page.text and "10.00 EUR" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    base = f"/manage/lists/{list_id}"
    assert user_client.post(f"{base}/items/{watch.watch_id}", data={"csrf_token": csrf, "quantity": "2"}).status_code == 303
    assert "20.00 EUR" in user_client.get("/manage/lists").text
    user_client.post(f"{base}/items/{watch.watch_id}", data={"csrf_token": csrf, "bought": "yes"})
    assert "Nothing on this list is priced in stock yet" in user_client.get("/manage/lists").text
    link = user_client.post(f"{base}/link", data={"csrf_token": csrf})
    assert "/lists/shared?token=" in link.text
    refused = user_client.post(f"{base}/items/{watch.watch_id}", data={"csrf_token": "forged", "quantity": "3"})
    assert refused.status_code in (400, 403)
