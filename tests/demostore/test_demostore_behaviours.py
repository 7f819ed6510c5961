"""How product URLs behave for each status."""

import json
import threading

import pytest
from demostore_testlib import fetch

from demostore import DemoStoreServer, demo_catalogue


def _set(shops, slug, status, index=4):
    p = shops.products(slug)[index]
    shops.set_product(slug, p.id, status=status)
    return shops.product_url(slug, p.id), p


def test_gone_404_and_410(shops):
    url, p = _set(shops, "northwind", "gone404")
    r = fetch(url)
    assert r.status == 404 and "<footer" in r.text and p.name not in r.text
    url, p = _set(shops, "copperpot", "gone410")
    r = fetch(url)
    assert r.status == 410 and p.name not in r.text


def test_redirect_home(shops):
    url, p = _set(shops, "voltmarkt", "redirect_home")
    r = fetch(url)
    assert r.status == 302
    assert r.headers["Location"] == shops.base_url("voltmarkt") + "/"
    home = fetch(r.headers["Location"])
    assert home.status == 200
    assert "application/ld+json" not in home.text or '"@type":"Product"' not in home.text
    assert "<h1" in home.text and "product-grid" in home.text


def test_error_500_and_429(shops):
    url, _ = _set(shops, "gadgetdepot", "error500")
    assert fetch(url).status == 500
    url, _ = _set(shops, "gadgetdepot", "throttle429", index=5)
    r = fetch(url)
    assert r.status == 429 and r.headers["Retry-After"] == "2"


def test_slow_serves_the_page(shops):
    url, p = _set(shops, "northwind", "slow")
    r = fetch(url)
    assert r.status == 200 and p.name in r.text
    assert shops.served_log()[-1]["product_status"] == "slow"


def test_oversize(shops):
    url, p = _set(shops, "dailybasket", "oversize")
    r = fetch(url)
    assert r.status == 200
    assert len(r.body) >= 2 * 1024 * 1024
    assert int(r.headers["Content-Length"]) == len(r.body)
    assert r.text.rstrip().endswith("</html>") and p.name in r.text


def test_oversize_default_is_twelve_megabytes():
    store = demo_catalogue(faults=False)[0]
    store.products[0].status = "oversize"
    with DemoStoreServer([store]) as one:
        r = fetch(one.product_url(store.slug, store.products[0].id))
        assert r.status == 200 and len(r.body) >= 12 * 1024 * 1024


def test_malformed(shops):
    url, p = _set(shops, "gadgetdepot", "malformed")
    r = fetch(url)
    assert r.status == 200
    with pytest.raises(UnicodeDecodeError):
        r.body.decode("utf-8")
    html = r.body.decode("utf-8", "replace")
    assert "\x00" in html
    assert f"${p.price:,}" in html  # the visible price survives
    assert not html.rstrip().endswith("</html>")
    block = html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    with pytest.raises(ValueError):
        json.loads(block)


def test_malformed_shopify_js(shops):
    url, _ = _set(shops, "northwind", "malformed")
    r = fetch(url + ".js")
    assert r.status == 200
    with pytest.raises(ValueError):
        json.loads(r.body)


def test_challenge(shops):
    url, p = _set(shops, "northwind", "challenge")
    r = fetch(url)
    assert r.status == 503
    assert "<title>Just a moment...</title>" in r.text
    assert r.headers["cf-mitigated"] == "challenge"
    assert p.name not in r.text
    assert fetch(url + ".js").status == 503
    shops.configure(challenge_code=403)
    assert fetch(url).status == 403


def test_no_availability(shops):
    for slug in shops.store_slugs:
        url, p = _set(shops, slug, "no_availability")
        shops.set_product(slug, p.id, availability="in_stock")
        r = fetch(url)
        assert r.status == 200
        main = r.text.split("<main", 1)[1].split("</main>", 1)[0]
        assert "InStock" not in r.text and "og:availability" not in r.text
        assert "Add to cart" not in main and "In den Warenkorb" not in main
        assert shops.served_log()[-1]["availability"] == "unknown"
        assert shops.served_log()[-1]["price"] == str(p.price)
    url, _ = _set(shops, "northwind", "no_availability")
    doc = fetch(url + ".js").json()
    assert "available" not in doc and all("available" not in v for v in doc["variants"])


@pytest.mark.timeout(60)
def test_timeout_holds_without_blocking_others(shops):
    url, p = _set(shops, "northwind", "timeout")
    outcome = {}

    def held():
        try:
            outcome["response"] = fetch(url, timeout=60)
        except Exception as exc:  # the server closes without answering
            outcome["error"] = exc

    t = threading.Thread(target=held)
    t.start()
    while not any(e["product_status"] == "timeout" for e in shops.served_log()):
        t.join(0.01)
    # the held request is in progress; the same store and others answer
    others = [q for q in shops.products("northwind") if q.id != p.id][:10]
    results = []

    def get(q):
        results.append(fetch(shops.product_url("northwind", q.id)).status)

    threads = [threading.Thread(target=get, args=(q,)) for q in others]
    [th.start() for th in threads]
    [th.join() for th in threads]
    assert results == [200] * len(others)
    assert fetch(shops.base_url("voltmarkt") + "/").status == 200
    assert t.is_alive()
    shops.stop()  # wakes the held request
    t.join()
    assert "response" not in outcome
    held_entry = next(e for e in shops.served_log() if e["product_status"] == "timeout")
    assert held_entry["status_code"] is None and held_entry["price"] is None
