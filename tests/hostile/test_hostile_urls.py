"""One URL, one listing: every spelling of the same page (RFC 3986 section 6) is one listing,
the migration merges duplicates already stored, and listings whose pages declare the same
canonical URL are merged with their history and watches."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pricehound import catalog, urls
from pricehound.db import apply_schema

HOST = "127.0.0.1:8765"
EQUIVALENT = [  # each group: spellings of one page
    [f"http://{HOST}/p/kettle", f"http://{HOST}/p/kettle/", f"https://{HOST}/p/kettle", f"http://{HOST}/p/%6Bettle",
     f"http://{HOST}/p/./kettle", f"http://{HOST}/x/../p/kettle", f"HTTP://{HOST}/p/kettle#reviews",
     f"http://{HOST}/p/kettle?utm_source=mail&gclid=1", f"http://{HOST}/p/%6bettle/?fbclid=x"],
    [f"http://{HOST}/p/caf%C3%A9", f"http://{HOST}/p/café", f"http://{HOST}/p/caf%c3%a9/"],
    [f"http://{HOST}/p?b=2&a=1", f"http://{HOST}/p?a=1&b=2", f"http://{HOST}/p/?a=1&utm_medium=x&b=2",
     f"http://{HOST}/p?a=%31&b=2"],
    [f"http://{HOST}/search?q=a+b", f"http://{HOST}/search?q=a%20b"],
]


@pytest.fixture()
def shop(db):
    with db.begin() as conn:
        store = catalog.add_store(conn, slug="local", name="Local", domains=[HOST], is_local=True, currency="EUR")
        catalog.add_user(conn, email="ann@example.com", verified=True)
        catalog.add_user(conn, email="bob@example.com", verified=True)
    return store


def _listings(db) -> list:
    with db.connect() as conn:
        return list(conn.execute(sa.text("SELECT id, url, url_key FROM store_listings ORDER BY id")))


@pytest.mark.parametrize("group", EQUIVALENT, ids=["forms", "utf8", "query-order", "plus-space"])
def test_equivalent_urls_are_one_listing_and_one_watch(db, shop, group):
    with db.begin() as conn:
        watches = {catalog.add_watch(conn, email="ann@example.com", url=url).id for url in group}
    assert len(_listings(db)) == 1
    assert len(watches) == 1


def test_equivalent_hosts_are_one_listing(db):
    with db.begin() as conn:
        catalog.add_store(conn, slug="shop", name="Shop", domains=["xn--bcher-kva.example"])
        catalog.add_user(conn, email="ann@example.com", verified=True)
        store = catalog.get_store(conn, "shop")
        ids = {_insert(conn, store, url) for url in ("https://bücher.example/p/1", "https://XN--BCHER-KVA.example:443/p/1",
                           "http://xn--bcher-kva.example:80/p/1/")}
    assert len(ids) == 1


def _insert(conn, store, url: str) -> int:
    """ensure_listing without the address check (these hosts do not resolve here)."""
    return conn.execute(sa.text(
        "INSERT INTO store_listings (store_id, url) VALUES (:s, :u) "
        "ON CONFLICT (store_id, url_key) DO UPDATE SET url_key = excluded.url_key RETURNING id"),
        {"s": store.id, "u": urls.canonical_url(url, store.trailing_slash)}).scalar_one()


def test_a_store_whose_trailing_slash_matters_keeps_both(db):
    with db.begin() as conn:
        catalog.add_store(conn, slug="local", name="Local", domains=[HOST], is_local=True)
        conn.execute(sa.text("UPDATE stores SET url_trailing_slash = 'keep'"))
        catalog.add_user(conn, email="ann@example.com", verified=True)
        catalog.add_watch(conn, email="ann@example.com", url=f"http://{HOST}/dir/")
        catalog.add_watch(conn, email="ann@example.com", url=f"http://{HOST}/dir")
        catalog.add_watch(conn, email="ann@example.com", url=f"http://{HOST}/dir/./")
    assert len(_listings(db)) == 2


_segment = st.lists(st.sampled_from(list("aZ09-._~%+!$'()*,;=:@é/") + ["%6b", "%7E", "%2f", "%c3%a9", "..", "."]),
                    max_size=8).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@example(path='a', query=[('a', '%00')], rule='strip', https=False)  # chr(0) is an error in SQL
@given(path=st.lists(_segment, max_size=5).map("/".join), query=st.lists(
    st.tuples(st.sampled_from(["a", "B", "utm_x", "q", "%7e", "c+d"]), st.text("xy+%20é=", max_size=4)),
    max_size=4).map(lambda pairs: [(k, v.replace("%20", " ").replace(" ", "%20")) for k, v in pairs]), rule=st.sampled_from(urls.TRAILING_SLASH_RULES), https=st.booleans())
def test_sql_key_and_python_key_agree(engine, path, query, rule, https):
    raw = f"{'https' if https else 'http'}://Shop.Example/{path}" + ("?" + "&".join(f"{k}={v}" for k, v in query)
                                                                      if query else "")
    try:
        canonical = urls.canonical_url(raw, rule)
    except urls.UnsafeURL:
        return
    with engine.connect() as conn:
        of_raw, of_canonical = conn.execute(sa.text("SELECT pricehound_url_key(:r, :rule), pricehound_url_key(:c, :rule)"),
                                            {"r": raw.split("#")[0], "c": canonical, "rule": rule}).one()
    assert of_canonical == urls.listing_key(raw, rule)
    assert urls.listing_key(canonical, rule) == urls.listing_key(raw, rule)  # idempotent
    assert of_raw == urls.listing_key(raw, rule)  # the migration keys old rows as Python does


def _history(conn, listing_id: int, rows: list[tuple[int, str]]) -> None:
    for days, price in rows:
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
            "VALUES (:l, pricehound_now() - make_interval(days => :d), :p, 'EUR', 'in_stock')"),
            {"l": listing_id, "d": days, "p": Decimal(price)})


def test_the_migration_merges_duplicates_already_stored_keeping_history_and_watches(db, shop):
    """Rows stored before listings had a key: the schema, applied again, merges them."""
    try:
        with db.begin() as conn:
            conn.execute(sa.text("DROP INDEX store_listings_store_url_key"))
            conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 6"))  # as version 5 left it
            conn.execute(sa.text("ALTER TABLE store_listings DISABLE TRIGGER store_listings_url_key"))
            ids = [conn.execute(sa.text("INSERT INTO store_listings (store_id, url) VALUES (:s, :u) RETURNING id"),
                                {"s": shop.id, "u": u}).scalar_one()
                   for u in (f"http://{HOST}/p/1", f"http://{HOST}/p/1/", f"https://{HOST}/p/%31",
                             f"http://{HOST}/p/2")]
            conn.execute(sa.text("ALTER TABLE store_listings ENABLE TRIGGER store_listings_url_key"))
            _history(conn, ids[0], [(30, "10.00")])
            _history(conn, ids[1], [(20, "9.00")])
            _history(conn, ids[2], [(10, "8.00")])
            ann = conn.execute(sa.text("SELECT id FROM users WHERE email = 'ann@example.com'")).scalar_one()
            bob = conn.execute(sa.text("SELECT id FROM users WHERE email = 'bob@example.com'")).scalar_one()
            ann_list, bob_list = catalog.ensure_list(conn, ann), catalog.ensure_list(conn, bob)
            for list_id, listing_id in ((ann_list, ids[0]), (ann_list, ids[1]), (bob_list, ids[2])):
                conn.execute(sa.text("INSERT INTO shopping_list_items (list_id, listing_id) VALUES (:l, :x)"),
                             {"l": list_id, "x": listing_id})
    finally:
        apply_schema(db)
    apply_schema(db)  # idempotent: a second run changes nothing
    with db.connect() as conn:
        listings = conn.execute(sa.text("SELECT id FROM store_listings ORDER BY id")).scalars().all()
        history = conn.execute(sa.text("SELECT listing_id, price FROM price_history_log ORDER BY observed_at")).all()
        watches = conn.execute(sa.text("SELECT list_id, listing_id FROM shopping_list_items ORDER BY id")).all()
    assert listings == [ids[0], ids[3]]
    assert [(h.listing_id, str(h.price)) for h in history] == [(ids[0], "10.00"), (ids[0], "9.00"), (ids[0], "8.00")]
    assert sorted(watches) == sorted([(ann_list, ids[0]), (bob_list, ids[0])])


def test_listings_declaring_the_same_canonical_url_are_merged(db, shop):
    with db.begin() as conn:
        a = catalog.add_watch(conn, email="ann@example.com", url=f"http://{HOST}/p/1?variant=red")
        b = catalog.add_watch(conn, email="bob@example.com", url=f"http://{HOST}/item/1")
        c = catalog.add_watch(conn, email="ann@example.com", url=f"http://{HOST}/p/1?variant=blue")
        _history(conn, b.listing_id, [(5, "7.00")])
        conn.execute(sa.text(
            "INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at) "
            "VALUES (:l, 7.00, 'EUR', 'in_stock', pricehound_now(), pricehound_now())"), {"l": b.listing_id})
        assert catalog.merge_declared_canonical(conn, a.listing_id, f"https://{HOST}/p/1") == a.listing_id
        assert catalog.merge_declared_canonical(conn, b.listing_id, f"http://{HOST}/p/1/") == a.listing_id
        assert catalog.merge_declared_canonical(conn, c.listing_id, f"http://{HOST}/p/1#x") == a.listing_id
        # a page cannot pull a listing onto another site
        assert catalog.merge_declared_canonical(conn, a.listing_id, "https://elsewhere.example/p/1") == a.listing_id
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM store_listings")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT listing_id FROM price_history_log")).scalar_one() == a.listing_id
        assert conn.execute(sa.text("SELECT price FROM store_prices")).scalar_one() == Decimal("7.00")
        owners = conn.execute(sa.text(
            "SELECT u.email, i.listing_id FROM shopping_list_items i JOIN shopping_lists l ON l.id = i.list_id "
            "JOIN users u ON u.id = l.user_id ORDER BY u.email")).all()
        assert [(o.email, o.listing_id) for o in owners] == [("ann@example.com", a.listing_id),
                                                            ("bob@example.com", a.listing_id)]
        frontier = conn.execute(sa.text("SELECT listing_id FROM user_crawler_priorities")).scalars().all()
    assert frontier == [a.listing_id]
