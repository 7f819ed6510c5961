"""Shopping lists: quantities, bought items, totals at the cheapest mix and at one store, sharing."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricehound import lists, tokens
from pricehound.catalog import InputError

SECRET = "Zq8vX2pLmR9rW4yB7nC1dF6gH0jT5sQeUaKo3Ni"


def _one(conn, sql: str, **params):
    return conn.execute(sa.text(sql), params).scalar_one()


@pytest.fixture()
def shop(db):
    """Two stores, two products and a page-only listing, priced; one list holding all three."""
    with db.begin() as conn:
        a = _one(conn, "INSERT INTO stores (slug, name, allowed_domains) VALUES ('alpha', 'Alpha', '{alpha.example}') RETURNING id")
        b = _one(conn, "INSERT INTO stores (slug, name, allowed_domains) VALUES ('beta', 'Beta', '{beta.example}') RETURNING id")
        kettle = _one(conn, "INSERT INTO branded_products (name) VALUES ('Kettle') RETURNING id")
        mugs = _one(conn, "INSERT INTO branded_products (name) VALUES ('Mug set') RETURNING id")
        owner = _one(conn, "INSERT INTO users (email, verified_at) VALUES ('ann@example.com', now()) RETURNING id")
        other = _one(conn, "INSERT INTO users (email, verified_at) VALUES ('bob@example.com', now()) RETURNING id")
        lst = _one(conn, "INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'Kitchen') RETURNING id", u=owner)

        def listing(store, url, product, price, availability="in_stock"):
            lid = _one(conn, "INSERT INTO store_listings (store_id, url, product_id) VALUES (:s, :url, :p) RETURNING id",
                       s=store, url=url, p=product)
            conn.execute(sa.text("INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, "
                                 "changed_at) VALUES (:l, :p, 'USD', :a, now(), now())"),
                         {"l": lid, "p": Decimal(price), "a": availability})
            return lid

        listing(a, "https://alpha.example/kettle", kettle, "10.00")
        listing(b, "https://beta.example/kettle", kettle, "8.00")
        listing(a, "https://alpha.example/mugs", mugs, "5.00")
        listing(b, "https://beta.example/mugs", mugs, "4.00", "out_of_stock")
        filters = listing(b, "https://beta.example/filters", None, "3.00")
        items = {}
        for key, column, value, qty in (("kettle", "product_id", kettle, 2), ("mugs", "product_id", mugs, 1),
                                        ("filters", "listing_id", filters, 3)):
            items[key] = _one(conn, f"INSERT INTO shopping_list_items (list_id, {column}, quantity) "  # noqa: S608
                                    "VALUES (:l, :v, :q) RETURNING id", l=lst, v=value, q=qty)
    return {"list": lst, "owner": owner, "other": other, "items": items, "alpha": a, "beta": b}


def test_list_total_is_the_cheapest_mix_and_the_cheapest_single_store(db, shop):
    with db.connect() as conn:
        sums, to_buy, unpriced = lists.totals(conn, shop["list"])
    assert (to_buy, unpriced) == (3, 0)
    [usd] = sums
    # kettle 2 x 8 at beta, mugs 5 at alpha (beta's are sold out), filters 3 x 3 at beta
    assert usd.mix_total == Decimal("30.00") and usd.mix_stores == ("alpha", "beta")
    # no store has all three: beta has two for 25.00, alpha two for 25.00 -> the cheaper tie by name
    assert usd.single_store == "alpha" and usd.single_total == Decimal("25.00") and usd.single_missing == 1


def test_bought_items_leave_the_totals_and_quantities_multiply(db, shop):
    with db.begin() as conn:
        lists.set_item(conn, shop["owner"], shop["items"]["mugs"], bought=True)
        lists.set_item(conn, shop["owner"], shop["items"]["filters"], quantity=1)
    with db.connect() as conn:
        [usd], to_buy, _ = lists.totals(conn, shop["list"])
        v = lists.view(conn, shop["list"])
    assert to_buy == 2
    assert usd.mix_total == Decimal("19.00")            # 2 x 8 + 1 x 3, both at beta
    assert (usd.single_store, usd.single_total, usd.single_missing) == ("beta", Decimal("19.00"), 0)
    assert [i.bought for i in v.items] == [False, False, True]  # bought items listed last


def test_list_stores_narrow_where_items_may_be_bought(db, shop):
    with db.begin() as conn:
        lists.set_stores(conn, shop["list"], ["alpha"])
    with db.connect() as conn:
        [usd], to_buy, unpriced = lists.totals(conn, shop["list"])
    assert unpriced == 1                                 # the filters are only at beta
    assert usd.mix_total == Decimal("25.00") and usd.mix_stores == ("alpha",)


def test_only_the_owner_changes_items_and_quantities_are_bounded(db, shop):
    with db.begin() as conn, pytest.raises(InputError):
        lists.set_item(conn, shop["other"], shop["items"]["kettle"], quantity=5)
    with db.begin() as conn, pytest.raises(InputError):
        lists.set_item(conn, shop["owner"], shop["items"]["kettle"], quantity=0)


def test_shared_with_a_user_by_email_reads_the_list_and_a_stranger_does_not(db, shop):
    with db.begin() as conn:
        lists.share_with(conn, shop["list"], "BOB@example.com")
        stranger = _one(conn, "INSERT INTO users (email) VALUES ('eve@example.com') RETURNING id")
    with db.connect() as conn:
        assert lists.readable_by(conn, shop["list"], shop["other"])
        assert not lists.readable_by(conn, shop["list"], stranger)
        assert [s[0] for s in lists.shared_with_me(conn, shop["other"])] == [shop["list"]]
    with db.begin() as conn, pytest.raises(InputError):
        lists.share_with(conn, shop["list"], "nobody@example.com")


def test_share_link_opens_the_list_and_forged_expired_revoked_links_are_refused(db, shop):
    with db.begin() as conn:
        good = lists.share_token(conn, shop["list"], SECRET, days=1)
    with db.connect() as conn:
        assert lists.open_share_link(conn, good, SECRET).name == "Kitchen"
        body, mac = good.split(".")
        forged = f"{body}.{mac[:-2]}{'A' if mac[-2] != 'A' else 'B'}{mac[-1]}"
        expired = tokens.sign(lists.SHARE_PURPOSE, {"l": shop["list"], "g": 0}, SECRET, max_age=60,
                              now=1_000_000_000)
        other_purpose = tokens.sign("unsubscribe", {"l": shop["list"], "g": 0}, SECRET, max_age=600)
        for bad in (forged, expired, other_purpose, "not-a-token"):
            with pytest.raises(tokens.TokenError):
                lists.open_share_link(conn, bad, SECRET)
    with db.begin() as conn:
        lists.revoke_links(conn, shop["list"])
    with db.connect() as conn, pytest.raises(tokens.TokenError):
        lists.open_share_link(conn, good, SECRET)
