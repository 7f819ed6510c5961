"""Search discovery: shops found / shops that carry the product, on the demo catalogue.

Starts the demo store with its overlapping products (demostore/overlap.py: each shared product
sold at three or four shops under the shop's own title, beside near-identical decoys: another
size, colour, a multipack, a refurbished one). For every (shared product, shop that carries it)
the shop is searched the way a crawl searches it: its search page when its shape has one
(demostore/overlap.py SEARCH_PATHS) and robots.txt allows it, else its sitemap (named in
robots.txt). Then, in the same
run and on the same pages:

  baseline   exact title match: a result whose title, lower-cased and with spaces collapsed,
             equals the product's name;
  discovery  spiders.extraction.tiles + spiders.search.best (the best CANDIDATES_PER_SEARCH
             results against the query), each candidate's page read by the crawl's extraction
             and judged by the identity rules (pricehound.identity.decide_link) against the
             product (name, brand, GTIN).

found: the shop's page of the product is among what the method picked (discovery: among the
candidates crawled). linked: the identity rules link it (a GTIN on the page); awaiting: a title
match that waits for a person (no GTIN on the page). false_links: a decoy the rules would link
(must be 0). ratio = discovery found share / baseline found share.

Usage:  .venv/bin/python bench/discovery.py [--rounds N]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
import urllib.robotparser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from demostore import DemoStoreServer, demo_catalogue  # noqa: E402
from demostore.overlap import SEARCH_PATHS, SHARED  # noqa: E402
from pricehound import identity  # noqa: E402
from spiders import search as S  # noqa: E402
from spiders.extraction import extract_product  # noqa: E402
from spiders.extraction.tiles import read_tiles  # noqa: E402


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the local demo store
        return response.read()


def results_at(shops: DemoStoreServer, store, query: str) -> list[tuple[str, str]]:
    """(url, title) results as the crawl's search of this shop sees them."""
    base = shops.base_url(store.slug)
    path = SEARCH_PATHS.get(store.shape)
    robots_txt = fetch(base + "/robots.txt").decode()
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(robots_txt.splitlines())
    url = base + S.search_url(path, query) if path else None
    if url and robots.can_fetch("pricehound", url):
        return [(t.url, t.name) for t in read_tiles(fetch(url), url, currency_hint=store.currency)]
    # no search page, or robots.txt keeps crawlers off it: the sitemap, as the crawl does
    listed = S.sitemaps_in_robots(robots_txt) or [base + "/sitemap.xml"]
    pages: list[str] = []
    for sitemap in S.order_sitemaps(listed):
        found, _children = S.read_sitemap(fetch(sitemap))
        pages.extend(found)
    return [(u, S.slug_title(u)) for u in pages]


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def one_round(shops: DemoStoreServer) -> dict:
    stores = {s.slug: s for s in shops.catalogue()}
    counts = {"carried": 0, "baseline_found": 0, "found": 0, "linked": 0, "awaiting": 0, "false_links": 0,
              "pages_read": 0}
    misses = []
    for shared in SHARED:
        query = S.query_for(shared.name, shared.brand)
        gtin = next(p.gtin for o in shared.offers if o.gtin_form == "ean13"
                    for p in stores[o.store].products if p.name == o.title)
        product = identity.product_evidence(shared.name, brand=shared.brand, gtins=[gtin])
        for offer in shared.offers:
            store = stores[offer.store]
            want = next(p for p in store.products if p.name == offer.title)
            want_url = shops.product_url(store.slug, want.id).rstrip("/")
            results = results_at(shops, store, query)
            counts["carried"] += 1
            if any(norm(title) == norm(shared.name) and url.rstrip("/") == want_url for url, title in results):
                counts["baseline_found"] += 1
            candidates = S.best(query, results)
            hit = False
            for c in candidates:
                ex = extract_product(fetch(c.url), c.url, default_currency=store.currency)
                counts["pages_read"] += 1
                decision = identity.decide_link(
                    identity.IdentityEvidence.from_listing(ex.name, gtin=ex.gtin), product)
                is_it = c.url.rstrip("/") == want_url
                hit = hit or is_it
                if decision.linked and not is_it:
                    counts["false_links"] += 1
                if is_it and decision.linked:
                    counts["linked"] += 1
                elif is_it and decision.rule == "title_match_unconfirmed":
                    counts["awaiting"] += 1
            counts["found"] += hit
            if not hit:
                misses.append(f"{shared.key}@{store.slug}")
    counts["misses"] = misses
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    with DemoStoreServer(demo_catalogue(faults=False, overlap=True)) as shops:
        for n in range(args.rounds):
            started = time.perf_counter()
            r = one_round(shops)
            r["seconds"] = round(time.perf_counter() - started, 3)
            rounds.append(r)
            print(f"round {n + 1}: carried {r['carried']}, discovery found {r['found']} "
                  f"(linked {r['linked']}, awaiting confirmation {r['awaiting']}, false links {r['false_links']}), "
                  f"baseline found {r['baseline_found']}, {r['pages_read']} candidate pages, {r['seconds']} s",
                  file=sys.stderr)
    last = rounds[-1]
    found_share = last["found"] / last["carried"]
    baseline_share = last["baseline_found"] / last["carried"]
    print(json.dumps({
        "carried": last["carried"], "found": last["found"], "found_share": round(found_share, 4),
        "linked": last["linked"], "awaiting_confirmation": last["awaiting"], "false_links": last["false_links"],
        "baseline_found": last["baseline_found"], "baseline_share": round(baseline_share, 4),
        "ratio": round(found_share / baseline_share, 3) if baseline_share else None,
        "candidate_pages_per_search": round(last["pages_read"] / last["carried"], 2),
        "seconds_median": statistics.median(r["seconds"] for r in rounds), "misses": last["misses"],
        "rounds": len(rounds), "goal_found_share": 0.95,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
