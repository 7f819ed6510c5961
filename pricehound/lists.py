"""Shopping lists as the seed describes them: what to buy, how many, what is bought, what it costs.

A list has a description and may name the stores it buys from (``preferred_store_ids``; an item's
own preferred stores narrow that further). Each item has a quantity and is ticked off when
bought (``bought_at``); a bought item leaves the totals.

Totals (:func:`totals`, one statement): every item still to buy is priced at its in-stock offers
at the allowed stores (its listing, or every listing linked to its product), then

- **cheapest mix**: each item at its cheapest store, summed (quantity x price);
- **single cheapest store**: the store that has every item in stock for the least; when no store
  has them all, the store that has the most, with what it lacks.

Prices in different currencies are never added up: totals are per currency and say so.

Sharing: read-only, either with another user by email (``shopping_list_shares``) or by a signed
link (``pricehound.tokens``, purpose ``list_share``) carrying the list id and its
``share_generation``; raising the generation revokes every link given out so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import tokens
from pricehound.catalog import InputError, check_text, parse_email

SHARE_PURPOSE = "list_share"
#: how long a share link works unless asked otherwise
SHARE_LINK_DAYS = 30
MAX_SHARE_LINK_DAYS = 365
MAX_DESCRIPTION = 2000
MAX_QUANTITY = 9999


@dataclass(frozen=True)
class ListItem:
    id: int
    name: str
    quantity: int
    bought: bool
    best_price: Decimal | None
    currency: str | None
    best_store: str | None


@dataclass(frozen=True)
class Totals:
    """One currency's totals of the items still to buy."""

    currency: str
    items: int                       # items still to buy that have an in-stock offer in this currency
    mix_total: Decimal               # each item at its cheapest store
    mix_stores: tuple[str, ...]      # the stores that mix buys from
    single_store: str | None         # the cheapest store with every item, else the one with the most
    single_total: Decimal | None
    single_missing: int              # items that store lacks (0: it has them all)


@dataclass(frozen=True)
class ListView:
    id: int
    name: str
    description: str | None
    owner: str
    items: tuple[ListItem, ...]
    totals: tuple[Totals, ...]
    to_buy: int
    unpriced: int                    # items still to buy with no in-stock offer anywhere allowed
    stores: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "description": self.description, "owner": self.owner,
            "stores": list(self.stores), "to_buy": self.to_buy, "unpriced": self.unpriced,
            "items": [{"id": i.id, "name": i.name, "quantity": i.quantity, "bought": i.bought,
                       "best_price": None if i.best_price is None else str(i.best_price),
                       "currency": i.currency, "best_store": i.best_store} for i in self.items],
            "totals": [{"currency": t.currency, "items": t.items, "cheapest_mix": str(t.mix_total),
                        "cheapest_mix_stores": list(t.mix_stores), "single_store": t.single_store,
                        "single_store_total": None if t.single_total is None else str(t.single_total),
                        "single_store_missing": t.single_missing} for t in self.totals],
        }


# -- reading --------------------------------------------------------------------------------------

# Each item still to buy, with every in-stock offer it may be bought at: its own listing, or the
# listings linked to its product, at the stores the item and the list allow.
OFFERS_CTE = """
    items AS (
        SELECT i.id, i.quantity, i.listing_id, i.product_id,
               CASE WHEN i.preferred_store_ids IS NULL THEN sl.preferred_store_ids
                    WHEN sl.preferred_store_ids IS NULL THEN i.preferred_store_ids
                    ELSE ARRAY(SELECT unnest(i.preferred_store_ids) INTERSECT SELECT unnest(sl.preferred_store_ids))
               END AS stores
          FROM shopping_list_items i JOIN shopping_lists sl ON sl.id = i.list_id
         WHERE i.list_id = :list_id AND i.bought_at IS NULL
    ), offers AS (
        SELECT it.id AS item_id, it.quantity, l.store_id, sp.price, sp.currency
          FROM items it
          JOIN store_listings l ON l.id = it.listing_id
          JOIN store_prices sp ON sp.listing_id = l.id
         WHERE l.status = 'active' AND sp.price IS NOT NULL AND sp.availability = 'in_stock'
           AND (it.stores IS NULL OR l.store_id = ANY (it.stores))
        UNION ALL
        SELECT it.id, it.quantity, l.store_id, sp.price, sp.currency
          FROM items it
          JOIN store_listings l ON l.product_id = it.product_id
          JOIN store_prices sp ON sp.listing_id = l.id
         WHERE it.product_id IS NOT NULL AND l.status = 'active' AND sp.price IS NOT NULL
           AND sp.availability = 'in_stock' AND (it.stores IS NULL OR l.store_id = ANY (it.stores))
    ), per_store AS (
        SELECT item_id, quantity, store_id, currency, min(price) AS price
          FROM offers GROUP BY item_id, quantity, store_id, currency
    )
"""

_TOTALS_TAIL = """
    , best AS (
        SELECT DISTINCT ON (item_id, currency) item_id, quantity, currency, store_id, price
          FROM per_store ORDER BY item_id, currency, price, store_id
    ), mix AS (
        SELECT b.currency, count(*)::int AS items, sum(b.quantity * b.price) AS total,
               array_agg(DISTINCT s.slug ORDER BY s.slug) AS stores
          FROM best b JOIN stores s ON s.id = b.store_id GROUP BY b.currency
    ), single AS (
        SELECT DISTINCT ON (p.currency) p.currency, s.slug, sum(p.quantity * p.price) AS total,
               count(*)::int AS has
          FROM per_store p JOIN stores s ON s.id = p.store_id
         GROUP BY p.currency, s.slug
         ORDER BY p.currency, count(*) DESC, sum(p.quantity * p.price), s.slug
    )
    SELECT m.currency, m.items, m.total, m.stores, g.slug AS single_store, g.total AS single_total,
           m.items - g.has AS single_missing,
           (SELECT count(*) FROM items)::int AS to_buy,
           (SELECT count(*) FROM items it WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE o.item_id = it.id))::int
               AS unpriced
      FROM mix m LEFT JOIN single g ON g.currency = m.currency
     ORDER BY m.items DESC, m.currency
    """
TOTALS_SQL = sa.text("".join(("WITH", OFFERS_CTE, _TOTALS_TAIL)))

_ITEMS_TAIL = """
    , best AS (
        SELECT DISTINCT ON (item_id) item_id, currency, store_id, price
          FROM per_store ORDER BY item_id, price, store_id
    )
    SELECT i.id, coalesce(p.name, l.title, l.url) AS name, i.quantity, i.bought_at IS NOT NULL AS bought,
           b.price, b.currency, s.slug AS store
      FROM shopping_list_items i
      LEFT JOIN branded_products p ON p.id = i.product_id
      LEFT JOIN store_listings l ON l.id = i.listing_id
      LEFT JOIN best b ON b.item_id = i.id
      LEFT JOIN stores s ON s.id = b.store_id
     WHERE i.list_id = :list_id
     ORDER BY i.bought_at IS NOT NULL, i.id
    """
ITEMS_SQL = sa.text("".join(("WITH", OFFERS_CTE, _ITEMS_TAIL)))


def totals(conn: Connection, list_id: int) -> tuple[list[Totals], int, int]:
    """(totals per currency, items still to buy, items still to buy with no offer)."""
    rows = conn.execute(TOTALS_SQL, {"list_id": list_id}).all()
    if not rows:
        left = conn.execute(sa.text("SELECT count(*) FROM shopping_list_items WHERE list_id = :l AND bought_at IS NULL"),
                            {"l": list_id}).scalar_one()
        return [], int(left), int(left)
    out = [Totals(currency=r.currency.strip(), items=r.items, mix_total=r.total, mix_stores=tuple(r.stores),
                  single_store=r.single_store, single_total=r.single_total, single_missing=int(r.single_missing))
           for r in rows]
    return out, int(rows[0].to_buy), int(rows[0].unpriced)


def view(conn: Connection, list_id: int) -> ListView:
    """The list as its owner, someone it is shared with, or a share link's holder reads it."""
    head = conn.execute(sa.text(
        """
        SELECT sl.id, sl.name, sl.description, u.email,
               ARRAY(SELECT s.slug FROM stores s WHERE s.id = ANY (sl.preferred_store_ids) ORDER BY s.slug) AS stores
          FROM shopping_lists sl JOIN users u ON u.id = sl.user_id WHERE sl.id = :l
        """), {"l": list_id}).one_or_none()
    if head is None:
        raise InputError(f"no list {list_id}")
    items = tuple(ListItem(r.id, r.name, r.quantity, r.bought, r.price, r.currency.strip() if r.currency else None,
                           r.store) for r in conn.execute(ITEMS_SQL, {"list_id": list_id}))
    sums, to_buy, unpriced = totals(conn, list_id)
    return ListView(id=head.id, name=head.name, description=head.description, owner=head.email, items=items,
                    totals=tuple(sums), to_buy=to_buy, unpriced=unpriced, stores=tuple(head.stores or ()))


def readable_by(conn: Connection, list_id: int, user_id: int) -> bool:
    """The owner and the users it is shared with may read a list."""
    return bool(conn.execute(sa.text(
        """
        SELECT EXISTS (SELECT 1 FROM shopping_lists WHERE id = :l AND user_id = :u)
            OR EXISTS (SELECT 1 FROM shopping_list_shares WHERE list_id = :l AND user_id = :u)
        """), {"l": list_id, "u": user_id}).scalar())


def owned_list(conn: Connection, user_id: int, name_or_id: str | int) -> int:
    """The id of one of the user's lists, by name or id; InputError when it is not theirs."""
    row = conn.execute(sa.text(
        "SELECT id FROM shopping_lists WHERE user_id = :u AND (name = :n OR id::text = :n)"),
        {"u": user_id, "n": str(name_or_id)}).first()
    if row is None:
        raise InputError(f"no list {name_or_id!r} of yours; `pricehound lists show` lists them")
    return int(row.id)


# -- changing -------------------------------------------------------------------------------------

def describe(conn: Connection, list_id: int, description: str | None) -> None:
    text = (description or "").strip() or None
    if text is not None:
        check_text(text, "a list description")
        if len(text) > MAX_DESCRIPTION:
            raise InputError(f"a list description is at most {MAX_DESCRIPTION} characters")
    conn.execute(sa.text("UPDATE shopping_lists SET description = :d WHERE id = :l"), {"d": text, "l": list_id})


def set_stores(conn: Connection, list_id: int, slugs: Sequence[str] | None) -> tuple[str, ...]:
    """The stores the list buys from (None or empty: any store)."""
    ids = None
    if slugs:
        rows = conn.execute(sa.text("SELECT id, slug FROM stores WHERE slug = ANY (:s)"), {"s": list(slugs)}).all()
        unknown = sorted(set(slugs) - {r.slug for r in rows})
        if unknown:
            raise InputError(f"no store {', '.join(unknown)}; `pricehound stores list` shows the stores")
        ids = sorted(r.id for r in rows)
    conn.execute(sa.text("UPDATE shopping_lists SET preferred_store_ids = :ids WHERE id = :l"), {"ids": ids, "l": list_id})
    return tuple(sorted(slugs or ()))


def set_item(conn: Connection, user_id: int, item_id: int, *, quantity: int | None = None,
             bought: bool | None = None) -> None:
    """Change an item's quantity or tick it off (bought) / back on; only the owner may."""
    if quantity is not None and not 1 <= int(quantity) <= MAX_QUANTITY:
        raise InputError(f"quantity must be a whole number from 1 to {MAX_QUANTITY}, got {quantity}")
    row = conn.execute(sa.text(
        """
        UPDATE shopping_list_items i
           SET quantity = coalesce(CAST(:q AS integer), i.quantity),
               bought_at = CASE WHEN CAST(:b AS boolean) IS NULL THEN i.bought_at
                                WHEN CAST(:b AS boolean) THEN coalesce(i.bought_at, pricehound_now())
                                ELSE NULL END,
               updated_at = pricehound_now()
          FROM shopping_lists sl
         WHERE i.id = :i AND sl.id = i.list_id AND sl.user_id = :u
        RETURNING i.id
        """), {"q": quantity, "b": bought, "i": item_id, "u": user_id}).first()
    if row is None:
        raise InputError(f"no item {item_id} on your lists")


def share_with(conn: Connection, list_id: int, email: str) -> int:
    """Share the list read-only with another pricehound user; returns their user id."""
    address = parse_email(email)
    row = conn.execute(sa.text(
        """
        INSERT INTO shopping_list_shares (list_id, user_id)
        SELECT :l, u.id FROM users u
         WHERE lower(u.email) = lower(:e) AND u.id <> (SELECT user_id FROM shopping_lists WHERE id = :l)
        ON CONFLICT (list_id, user_id) DO UPDATE SET list_id = excluded.list_id
        RETURNING user_id
        """), {"l": list_id, "e": address}).first()
    if row is None:
        raise InputError(f"{address} is not a pricehound user other than the list's owner; they sign up first")
    return int(row.user_id)


def unshare(conn: Connection, list_id: int, email: str) -> bool:
    return conn.execute(sa.text(
        "DELETE FROM shopping_list_shares s USING users u WHERE s.list_id = :l AND u.id = s.user_id "
        "AND lower(u.email) = lower(:e)"), {"l": list_id, "e": parse_email(email)}).rowcount > 0


def share_token(conn: Connection, list_id: int, secret: str, *, days: int = SHARE_LINK_DAYS) -> str:
    """A signed read-only link token for the list, valid ``days`` days or until revoked."""
    if not 1 <= int(days) <= MAX_SHARE_LINK_DAYS:
        raise InputError(f"a share link lasts 1 to {MAX_SHARE_LINK_DAYS} days, got {days}")
    generation = conn.execute(sa.text("SELECT share_generation FROM shopping_lists WHERE id = :l"),
                              {"l": list_id}).scalar_one()
    return tokens.sign(SHARE_PURPOSE, {"l": list_id, "g": int(generation)}, secret, max_age=int(days) * 86400)


def share_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/lists/shared?token={token}"


def revoke_links(conn: Connection, list_id: int) -> int:
    """Every share link given out so far stops working; returns the new generation."""
    return int(conn.execute(sa.text(
        "UPDATE shopping_lists SET share_generation = share_generation + 1 WHERE id = :l RETURNING share_generation"),
        {"l": list_id}).scalar_one())


def open_share_link(conn: Connection, token: str, secrets: str | Sequence[str]) -> ListView:
    """The list a share link shows; TokenError for a forged, expired, other-purpose or revoked link."""
    data = tokens.verify(SHARE_PURPOSE, token, secrets).get("d")
    if not isinstance(data, dict) or not isinstance(data.get("l"), int) or not isinstance(data.get("g"), int):
        raise tokens.TokenError("malformed share link")
    generation = conn.execute(sa.text("SELECT share_generation FROM shopping_lists WHERE id = :l"),
                              {"l": data["l"]}).scalar_one_or_none()
    if generation is None or generation != data["g"]:
        raise tokens.TokenError("this share link was revoked")
    return view(conn, data["l"])


def shared_with_me(conn: Connection, user_id: int) -> list[tuple[int, str, str, datetime]]:
    """(list id, name, owner email, shared at) of the lists others shared with the user."""
    return [(r.id, r.name, r.email, r.created_at) for r in conn.execute(sa.text(
        """
        SELECT sl.id, sl.name, u.email, s.created_at
          FROM shopping_list_shares s JOIN shopping_lists sl ON sl.id = s.list_id JOIN users u ON u.id = sl.user_id
         WHERE s.user_id = :u ORDER BY sl.name
        """), {"u": user_id})]


def render_text(v: ListView) -> str:
    """The list for a terminal."""
    lines = [f"{v.name} (list {v.id}, {v.owner})"]
    if v.description:
        lines.append(f"  {v.description}")
    if v.stores:
        lines.append(f"  buys from: {', '.join(v.stores)}")
    for i in v.items:
        mark = "[x]" if i.bought else "[ ]"
        price = f"{i.best_price} {i.currency} at {i.best_store}" if i.best_price is not None else "no offer in stock"
        lines.append(f"  {mark} {i.quantity} x {i.name}: {price}")
    if not v.totals:
        lines.append(f"  total: nothing priced yet ({v.to_buy} to buy)")
    for t in v.totals:
        lines.append(f"  total ({t.currency}), cheapest mix: {t.mix_total} {t.currency} "
                     f"for {t.items} items at {', '.join(t.mix_stores)}")
        if t.single_store is not None:
            lacks = f", lacks {t.single_missing} items" if t.single_missing else ""
            lines.append(f"  total ({t.currency}), single cheapest store: {t.single_store} "
                         f"{t.single_total} {t.currency}{lacks}")
    if len(v.totals) > 1:
        lines.append("  prices in different currencies are not added up")
    if v.unpriced:
        lines.append(f"  {v.unpriced} items to buy have no offer in stock at the list's stores")
    return "\n".join(lines)


__all__ = [
    "ListItem", "ListView", "SHARE_PURPOSE", "Totals", "describe", "open_share_link", "owned_list", "readable_by",
    "render_text", "revoke_links", "set_item", "set_stores", "share_token", "share_url", "share_with",
    "shared_with_me", "totals", "unshare", "view",
]


# -- command line: `pricehound lists ...` ------------------------------------------------------------

def _engine():
    from pricehound.config import get_settings
    from pricehound.db import get_engine

    return get_engine(get_settings())


def _user(conn: Connection, email: str) -> int:
    from pricehound.catalog import user_id_for_email

    return user_id_for_email(conn, email)


def cmd_show(args) -> int:
    import json

    with _engine().connect() as conn:
        user_id = _user(conn, args.email)
        if args.list:
            ids = [owned_list(conn, user_id, args.list)]
        else:
            ids = [r for (r,) in conn.execute(sa.text("SELECT id FROM shopping_lists WHERE user_id = :u ORDER BY name"),
                                               {"u": user_id})]
            ids += [lid for lid, *_ in shared_with_me(conn, user_id)]
        views = [view(conn, i) for i in ids]
    if args.json:
        for v in views:
            print(json.dumps(v.as_json()))
        return 0
    if not views:
        print(f"{args.email} has no lists yet: `pricehound watch add` puts a watch on one")
    print("\n\n".join(render_text(v) for v in views))
    return 0


def cmd_describe(args) -> int:
    with _engine().begin() as conn:
        list_id = owned_list(conn, _user(conn, args.email), args.list)
        if args.text is not None:
            describe(conn, list_id, args.text)
        if args.stores is not None:
            set_stores(conn, list_id, [s.strip() for s in args.stores.split(",") if s.strip()]
                       if args.stores not in ("", "any") else None)
        v = view(conn, list_id)
    print(render_text(v))
    return 0


def cmd_item(args) -> int:
    if args.quantity is None and args.bought is None:
        raise InputError("nothing to change: give --quantity N, --bought or --not-bought")
    with _engine().begin() as conn:
        set_item(conn, _user(conn, args.email), args.item, quantity=args.quantity, bought=args.bought)
    changed = [f"quantity {args.quantity}" if args.quantity is not None else "",
               {True: "bought", False: "still to buy", None: ""}[args.bought]]
    print(f"item {args.item}: {', '.join(c for c in changed if c)}")
    return 0


def cmd_share(args) -> int:
    from pricehound.config import get_settings

    settings = get_settings()
    with _engine().begin() as conn:
        list_id = owned_list(conn, _user(conn, args.email), args.list)
        if args.revoke_links:
            revoke_links(conn, list_id)
            print(f"list {list_id}: every share link given out so far no longer works")
        for other in args.with_ or ():
            share_with(conn, list_id, other)
            print(f"list {list_id}: shared read-only with {other}")
        for other in args.remove or ():
            print(f"list {list_id}: " + (f"no longer shared with {other}" if unshare(conn, list_id, other)
                                         else f"was not shared with {other}"))
        if args.link:
            token = share_token(conn, list_id, settings.signing_secret, days=args.days)
            print(share_url(settings.public_url, token))
    return 0


def register(sub) -> None:
    lists = sub.add_parser("lists", help="shopping lists: totals, quantities, bought items, sharing")
    lsub = lists.add_subparsers(dest="lists_command", metavar="ACTION", required=True)
    p = lsub.add_parser("show", help="a user's lists (and lists shared with them) with their totals")
    p.add_argument("--email", required=True)
    p.add_argument("--list", help="one list, by name or id (default: every list)")
    p.add_argument("--json", action="store_true", help="one JSON object per list")
    p.set_defaults(handler=cmd_show)
    p = lsub.add_parser("describe", help="set a list's description and the stores it buys from")
    p.add_argument("--email", required=True)
    p.add_argument("--list", required=True, help="the list, by name or id")
    p.add_argument("--text", help="the description ('' clears it)")
    p.add_argument("--stores", help="comma-separated store slugs the totals may buy from ('any': every store)")
    p.set_defaults(handler=cmd_describe)
    p = lsub.add_parser("item", help="change an item's quantity, or tick it off as bought")
    p.add_argument("item", type=int, help="the item's id (`pricehound lists show`)")
    p.add_argument("--email", required=True)
    p.add_argument("--quantity", type=int, help=f"how many (1 to {MAX_QUANTITY})")
    p.add_argument("--bought", dest="bought", action="store_true", default=None, help="tick it off")
    p.add_argument("--not-bought", dest="bought", action="store_false", help="put it back on the list")
    p.set_defaults(handler=cmd_item)
    p = lsub.add_parser("share", help="share a list read-only: with a user by email, or by a signed link")
    p.add_argument("--email", required=True, help="the list's owner")
    p.add_argument("--list", required=True, help="the list, by name or id")
    p.add_argument("--with", dest="with_", action="append", metavar="EMAIL", help="another user to share it with")
    p.add_argument("--remove", action="append", metavar="EMAIL", help="stop sharing with this user")
    p.add_argument("--link", action="store_true", help="print a signed read-only link")
    p.add_argument("--days", type=int, default=SHARE_LINK_DAYS, help=f"how long the link works (default {SHARE_LINK_DAYS})")
    p.add_argument("--revoke-links", action="store_true", help="make every link given out so far stop working")
    p.set_defaults(handler=cmd_share)
