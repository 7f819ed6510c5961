"""Runtime changes (admin HTTP API and Python API) and the oracle logs."""

from decimal import Decimal

import pytest
from demostore_testlib import fetch

LD_PRICE = '"price":"{}"'


def test_admin_catalogue(shops):
    doc = fetch(shops.admin_url() + "catalogue").json()
    stores = {s["slug"]: s for s in doc["stores"]}
    assert set(stores) == set(shops.store_slugs)
    for slug, s in stores.items():
        assert s["base_url"] == shops.base_url(slug)
        first = s["products"][0]
        assert first["url"] == shops.product_url(slug, first["id"])
        assert set(first) >= {"id", "handle", "name", "price", "regular_price", "currency",
                              "availability", "sku", "gtin", "status"}
    assert "js_url" in stores["northwind"]["products"][0]
    # every store's port answers the admin API
    assert fetch(shops.base_url("voltmarkt") + "/_admin/catalogue").status == 200


def test_admin_change_shows_in_next_page_and_change_log(shops):
    p = shops.products("gadgetdepot")[0]
    url = shops.product_url("gadgetdepot", p.id)
    r = fetch(shops.admin_url() + f"products/gadgetdepot/{p.id}", "POST",
              {"price": "12.34", "regular_price": "15.00", "availability": "out_of_stock"})
    assert r.status == 200
    body = r.json()
    assert body["product"]["price"] == "12.34"
    assert body["change"]["changes"]["price"] == [str(p.price), "12.34"]
    html = fetch(url).text
    assert LD_PRICE.format("12.34") in html and 'data-price-amount="12.34"' in html
    assert "schema.org/OutOfStock" in html
    changes = shops.change_log()
    assert len(changes) == 1
    c = changes[0]
    assert (c["store"], c["product_id"], c["price"], c["availability"], c["source"]) == \
        ("gadgetdepot", p.id, "12.34", "out_of_stock", "admin")
    http_changes = fetch(shops.admin_url() + "changes?since=0").json()["entries"]
    assert http_changes == changes


def test_admin_errors(shops):
    admin = shops.admin_url()
    pid = shops.products("northwind")[0].id
    assert fetch(admin + "products/nope/1", "POST", {"price": "1"}).status == 404
    assert fetch(admin + "products/northwind/999999", "POST", {"price": "1"}).status == 404
    assert fetch(admin + f"products/northwind/{pid}", "POST", {"price": "cheap"}).status == 400
    assert fetch(admin + f"products/northwind/{pid}", "POST", {"status": "weird"}).status == 400
    assert fetch(admin + f"products/northwind/{pid}", "POST", {"sku": "X"}).status == 400
    assert fetch(admin + "nothing").status == 404
    assert shops.change_log() == []


def test_python_api_set_product(shops):
    p = shops.products("voltmarkt")[3]
    entry = shops.set_product("voltmarkt", p.id, price=Decimal("1299.00"), availability="preorder")
    assert entry["changes"] == {"price": [str(p.price), "1299.00"],
                                "availability": [p.availability, "preorder"]}
    assert shops.product("voltmarkt", p.id).price == Decimal("1299.00")
    assert shops.set_product("voltmarkt", p.id, price="1299.00") is None  # no change, no entry
    html = fetch(shops.product_url("voltmarkt", p.id)).text
    assert "1.299,00 €" in html and "Vorbestellbar" in html
    with pytest.raises(KeyError):
        shops.set_product("voltmarkt", "nope", price="1")
    with pytest.raises(ValueError):
        shops.set_product("voltmarkt", p.id, availability="soon")
    assert len(shops.change_log()) == 1


def test_every_change_appears_exactly_once(shops):
    p = shops.products("northwind")[2]
    prices = ["10.00", "11.00", "11.00", "9.50", "10.00"]
    for price in prices:
        shops.set_product("northwind", p.id, price=price)
    shops.set_product("northwind", p.id, status="gone404")
    log = shops.change_log()
    assert [e["price"] for e in log] == ["10.00", "11.00", "9.50", "10.00", "10.00"]
    assert [e["seq"] for e in log] == sorted({e["seq"] for e in log})
    assert log[-1]["changes"] == {"status": ["ok", "gone404"]}


def test_served_log_records_responses(shops):
    a = shops.products("copperpot")[0]
    b = shops.products("copperpot")[1]
    fetch(shops.product_url("copperpot", a.id))
    shops.set_product("copperpot", b.id, status="gone410")
    fetch(shops.product_url("copperpot", b.id))
    fetch(shops.base_url("copperpot") + "/")  # not a product: not logged
    log = shops.served_log()
    assert [(e["product_id"], e["status_code"]) for e in log] == [(a.id, 200), (b.id, 410)]
    assert log[0]["price"] == str(a.price) and log[0]["availability"] == a.availability
    assert log[0]["currency"] == "USD" and log[0]["store"] == "copperpot"
    assert log[1]["price"] is None and log[1]["availability"] is None
    since = log[0]["seq"]
    http_log = fetch(shops.admin_url() + f"log?since={since}").json()
    assert [e["product_id"] for e in http_log["entries"]] == [b.id]
    assert shops.served_log(since) == http_log["entries"]
    # changes and responses share one sequence
    change_seq = shops.change_log()[0]["seq"]
    assert log[0]["seq"] < change_seq < log[1]["seq"]


def test_reset(shops):
    p = shops.products("dailybasket")[0]
    shops.set_product("dailybasket", p.id, price="0.50", status="error500")
    r = fetch(shops.admin_url() + "reset", "POST", {})
    assert r.status == 200
    assert shops.product("dailybasket", p.id).price == p.price
    assert shops.product("dailybasket", p.id).status == "ok"
    log = shops.change_log()
    assert [e["source"] for e in log] == ["api", "reset"]
    assert log[-1]["price"] == str(p.price)
    fetch(shops.product_url("dailybasket", p.id))
    shops.reset(clear_logs=True)
    assert shops.change_log() == [] and shops.served_log() == []


def test_admin_config(shops):
    assert fetch(shops.admin_url() + "config").json()["slow_delay"] == 0.05
    r = fetch(shops.admin_url() + "config", "POST", {"timeout_hold": 5})
    assert r.json()["timeout_hold"] == 5.0 and shops.timeout_hold == 5.0
    assert fetch(shops.admin_url() + "config", "POST", {"bogus": 1}).status == 400
