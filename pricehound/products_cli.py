"""`pricehound products ...` and `pricehound rates ...`: the catalogue for operators.

Every link an operator makes or removes here is recorded as theirs and is never changed by a
later crawl or link run (pricehound/identity.py skips listings with link_source 'operator').
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pricehound import catalog
from pricehound.config import get_settings
from pricehound.db import get_engine


def _engine():
    return get_engine(get_settings())


def _ids(raw: str) -> list[int]:
    return [catalog.parse_id(x.strip(), "listing id") for x in raw.split(",") if x.strip()]


def cmd_list(args: argparse.Namespace) -> int:
    from pricehound import products

    with _engine().connect() as conn:
        found = products.search(conn, args.query, limit=args.limit)
    if args.json:
        print(json.dumps([p.__dict__ | {"gtins": list(p.gtins)} for p in found]))
        return 0
    if not found:
        print("no products" + (f" match {args.query!r}" if args.query else " yet"))
    for p in found:
        gtins = ",".join(g.lstrip("0") for g in p.gtins) or "-"
        print(f"#{p.id}  {p.name}  brand={p.brand or '-'}  gtin={gtins}  listings={p.listings}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from pricehound import comparison, products

    with _engine().connect() as conn:
        p = products.get(conn, args.product)
        links = products.listings_of(conn, p.id)
        comp = comparison.compare(conn, p.id, currency=args.currency)
    if args.json:
        print(json.dumps({"product": p.__dict__ | {"gtins": list(p.gtins)}, "comparison": comp.as_json(),
                          "listings": [{**x, "link_confidence": None if x["link_confidence"] is None
                                        else float(x["link_confidence"])} for x in links]}, default=str))
        return 0
    print(f"#{p.id}  {p.name}")
    print(f"  brand {p.brand or '-'}  category {p.category or '-'}  mpn {p.mpn or '-'}  image {p.image_url or '-'}")
    print(f"  GTINs {', '.join(p.gtins) or '-'}")
    for x in links:
        print(f"  listing {x['id']} at {x['store']}: {x['title'] or x['url']}  "
              f"[{x['link_rule'] or x['link_method'] or '-'}, {products.confidence_text(x['link_confidence'])}, "
              f"by {x['link_source'] or '-'}]")
    for o in comp.offers:
        price = f"{o.price} {o.currency}" if o.price is not None else "no price yet"
        mark = "  <- cheapest" if o.cheapest else ""
        print(f"  {o.store}: {price}, {o.availability}, 90-day low {o.lowest_90d or '-'}{mark}")
    if comp.note:
        print(f"  note: {comp.note}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from pricehound import products

    with _engine().begin() as conn:
        pid = products.create_product(conn, name=args.name, brand=args.brand, category=args.category,
                                      mpn=args.mpn, gtins=args.gtin, image_url=args.image)
    print(f"product #{pid} {args.name}")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    from pricehound import products

    with _engine().begin() as conn:
        for lid in _ids(args.listing):
            products.link(conn, lid, args.product)
            print(f"listing {lid} linked to product #{args.product} (by the operator: kept over later crawls)")
    return 0


def cmd_unlink(args: argparse.Namespace) -> int:
    from pricehound import products

    with _engine().begin() as conn:
        for lid in _ids(args.listing):
            old = products.unlink(conn, lid)
            print(f"listing {lid} unlinked" + (f" from product #{old}" if old else "")
                  + " and kept unlinked (`pricehound products release` hands it back to the linker)")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from pricehound import identity, products

    with _engine().begin() as conn:
        ids = _ids(args.listing)
        for lid in ids:
            products.release(conn, lid)
        identity.refresh_evidence(conn, ids, force=True)
        summary = identity.link_listings(conn, ids)
    print(f"{len(ids)} listing(s) handed back to the linker: {summary.linked} linked")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from pricehound import products

    with _engine().begin() as conn:
        moved = products.merge(conn, args.keep, args.duplicate)
    print(f"product #{args.duplicate} merged into #{args.keep}: {moved} listing(s) moved")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from pricehound import products

    with _engine().begin() as conn:
        new_id = products.split(conn, args.product, _ids(args.listings), name=args.name)
    print(f"listing(s) {args.listings} split from #{args.product} into new product #{new_id}")
    return 0


def cmd_relink(args: argparse.Namespace) -> int:
    """Read every listing's evidence again and link in batches, printing progress."""
    import sqlalchemy as sa

    from pricehound import identity

    engine = _engine()
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(sa.text("SELECT id FROM store_listings ORDER BY id")).scalars()]
    total = identity.LinkSummary()
    for start in range(0, len(ids), args.batch):
        chunk = ids[start:start + args.batch]
        with engine.begin() as conn:
            identity.refresh_evidence(conn, chunk, force=args.force)
            s = identity.link_listings(conn, chunk, batch_size=args.batch)
        total.linked += s.linked
        total.created += s.created
        total.unlinked += s.unlinked
        total.ambiguous += s.ambiguous
        print(f"{min(start + args.batch, len(ids))}/{len(ids)} listings: {total.linked} linked, "
              f"{total.created} products made, {total.unlinked} unlinked, {total.ambiguous} ambiguous",
              file=sys.stderr)
    print(f"linked {total.linked}, made {total.created} product(s), unlinked {total.unlinked}, "
          f"left {total.ambiguous} ambiguous for an operator")
    return 0


def cmd_rates_load(args: argparse.Namespace) -> int:
    from pricehound import rates

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise catalog.InputError(f"cannot read {path}: {exc.strerror}") from None
    rows = rates.parse_ecb_csv(text)
    with _engine().begin() as conn:
        n = rates.load(conn, rows)
    days = sorted({r.day for r in rows})
    print(f"loaded {n} rate(s) for {len({c for r in rows for c in r.rates})} currencies, "
          f"{days[0]}" + (f" to {days[-1]}" if len(days) > 1 else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    products = sub.add_parser("products", help="the product catalogue: list, show, and correct links")
    ps = products.add_subparsers(dest="products_command", metavar="ACTION", required=True)
    p = ps.add_parser("list", help="list products, or search them by name, brand or GTIN")
    p.add_argument("query", nargs="?", help="words of the name or brand, or a GTIN")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)
    p = ps.add_parser("show", help="a product, its listings (how each was linked) and its prices at each store")
    p.add_argument("product", help="product id")
    p.add_argument("--currency", help="compare in this currency (needs loaded rates for the others)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)
    p = ps.add_parser("add", help="add a product by hand")
    p.add_argument("--name", required=True)
    p.add_argument("--brand")
    p.add_argument("--category")
    p.add_argument("--mpn", help="manufacturer part number")
    p.add_argument("--gtin", help="comma-separated GTIN/EAN/UPC/ISBN codes")
    p.add_argument("--image", help="image URL")
    p.set_defaults(handler=cmd_add)
    p = ps.add_parser("link", help="link listing(s) to a product; kept over every later crawl and link run")
    p.add_argument("listing", help="listing id(s), comma-separated")
    p.add_argument("product", help="product id")
    p.set_defaults(handler=cmd_link)
    p = ps.add_parser("unlink", help="take listing(s) off their product and keep them off")
    p.add_argument("listing", help="listing id(s), comma-separated")
    p.set_defaults(handler=cmd_unlink)
    p = ps.add_parser("release", help="hand listing(s) an operator linked or unlinked back to the linker")
    p.add_argument("listing", help="listing id(s), comma-separated")
    p.set_defaults(handler=cmd_release)
    p = ps.add_parser("merge", help="merge a duplicate product into another (listings, GTINs and watches move)")
    p.add_argument("keep", help="the product that stays")
    p.add_argument("duplicate", help="the product merged into it and removed")
    p.set_defaults(handler=cmd_merge)
    p = ps.add_parser("split", help="move listings of a product to a new product (two products taken for one)")
    p.add_argument("product", help="the product the listings are on now")
    p.add_argument("--listings", required=True, help="listing ids to move, comma-separated")
    p.add_argument("--name", help="the new product's name (default: the first listing's title)")
    p.set_defaults(handler=cmd_split)
    p = ps.add_parser("relink", help="read every listing's identity evidence and link them, in batches")
    p.add_argument("--batch", type=int, default=5000, help="listings per statement (default 5000)")
    p.add_argument("--force", action="store_true", help="read evidence again even where the facts are unchanged")
    p.set_defaults(handler=cmd_relink)

    rates = sub.add_parser("rates", help="exchange rates for comparing prices across currencies")
    rs = rates.add_subparsers(dest="rates_command", metavar="ACTION", required=True)
    p = rs.add_parser("load", help="load the ECB reference rates CSV (eurofxref.csv or eurofxref-hist.csv)")
    p.add_argument("file", help="CSV with a header 'Date, USD, JPY, ...' and units per euro")
    p.set_defaults(handler=cmd_rates_load)
