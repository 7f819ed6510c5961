"""What a crawl run's searches leave in PostgreSQL.

A search target is leased with its store (``crawl_runs.search_ids``), so the search page, the
sitemap and the candidates' product pages are fetched by the store's own crawl, under its
politeness and address rules. While the crawl runs:

- :func:`add_candidates` turns the best results of a search into listings (unlinked, one per
  page however its URL is spelled) and remembers them in ``search_candidates``; the spider then
  crawls them as ordinary targets, so their price, stock, title and GTIN are written by the
  one writer;
- :func:`record_outcome` closes a search that found nothing worth a page request (no results,
  none close enough, no way to search the store, a search page that failed).

After the crawl, :func:`settle` hands the run's candidates to the identity rules
(``pricehound.identity``), which link the ones that are the product; each searched target is
then ``found`` or ``not_found`` (and comes round again at its search interval). A search that
finds nothing is a status on the watch, never an error and never an email.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import urls
from spiders import search as S

log = logging.getLogger("pricehound.crawl")


@dataclass(frozen=True)
class SearchTarget:
    """One product to look for at the run's store."""

    id: int
    product_id: int
    query: str


SEARCHES_SQL = sa.text(
    """
    SELECT t.id, t.product_id, p.name, p.brand
      FROM search_targets t JOIN branded_products p ON p.id = t.product_id
     WHERE t.id = ANY (:ids) AND t.store_id = :store_id
     ORDER BY t.priority DESC, t.id
    """
)


def load_searches(conn: Connection, ids: Sequence[int], store_id: int) -> tuple[SearchTarget, ...]:
    if not ids:
        return ()
    return tuple(SearchTarget(id=r.id, product_id=r.product_id, query=S.query_for(r.name, r.brand))
                 for r in conn.execute(SEARCHES_SQL, {"ids": list(ids), "store_id": store_id}))


def on_store(url: str, allowed_domains: Sequence[str]) -> bool:
    try:
        host, port = urls.host_and_port(url)
    except (urls.UnsafeURL, ValueError):
        return False
    return urls.domain_matches(host, port, allowed_domains)


ADD_CANDIDATES_SQL = sa.text(
    """
    WITH given AS (
        SELECT * FROM unnest(CAST(:urls AS text[]), CAST(:scores AS double precision[]),
                             CAST(:titles AS text[])) AS g(url, score, title)
    ), listings AS (
        INSERT INTO store_listings AS l (store_id, url, title)
        SELECT :store_id, g.url, g.title FROM given g
        ON CONFLICT (store_id, url_key) DO UPDATE SET url_key = excluded.url_key
        RETURNING l.id, l.url_key
    ), linked AS (
        INSERT INTO search_candidates AS c (search_id, listing_id, run_id, score, source, tile_title)
        SELECT :search_id, l.id, :run_id, g.score, :source, g.title
          FROM given g JOIN listings l ON l.url_key = pricehound_url_key(g.url, :trailing_slash)
        ON CONFLICT (search_id, listing_id) DO UPDATE
           SET run_id = excluded.run_id, score = excluded.score, tile_title = excluded.tile_title,
               created_at = pricehound_now()
        RETURNING c.listing_id
    )
    SELECT l.id, l.url_key, g.url
      FROM given g JOIN listings l ON l.url_key = pricehound_url_key(g.url, :trailing_slash)
    """
)


def add_candidates(conn: Connection, *, store_id: int, allowed_domains: Sequence[str], trailing_slash: str,
                   search_id: int, run_id: int | None, source: str,
                   candidates: Sequence[S.Candidate]) -> list[tuple[int, str]]:
    """Listings for the candidates on the store's own domains (created when new), remembered as
    this search's candidates; returns (listing id, URL to crawl). One statement."""
    kept = []
    for c in candidates:
        if not on_store(c.url, allowed_domains):
            continue
        try:
            kept.append((urls.canonical_url(c.url, trailing_slash), c.score, c.title[:500]))
        except (urls.UnsafeURL, ValueError):
            continue
    if not kept:
        return []
    rows = conn.execute(ADD_CANDIDATES_SQL, {
        "urls": [k[0] for k in kept], "scores": [k[1] for k in kept], "titles": [k[2] for k in kept],
        "store_id": store_id, "search_id": search_id, "run_id": run_id, "source": source,
        "trailing_slash": trailing_slash,
    }).all()
    return [(int(r.id), r.url) for r in rows]


OUTCOME_SQL = sa.text(
    """
    UPDATE search_targets t
       SET status = :status, status_rule = :rule, candidates = :candidates,
           attempts = t.attempts + 1, last_searched_at = pricehound_now(),
           next_due_at = pricehound_now() + search_interval(t.priority, t.attempts + 1, s.min_interval, s.max_interval),
           found_listing_id = NULL, updated_at = pricehound_now()
      FROM stores s
     WHERE t.id = ANY (:ids) AND s.id = t.store_id
    """
)


def record_outcome(conn: Connection, search_ids: Sequence[int], status: str, rule: str, candidates: int = 0) -> None:
    """A search that ends without a product: its status, and when it comes round again."""
    if search_ids:
        conn.execute(OUTCOME_SQL, {"ids": list(search_ids), "status": status, "rule": rule,
                                   "candidates": candidates})


SETTLE_SQL = sa.text(
    """
    WITH searched AS (
        SELECT c.search_id, count(*)::int AS candidates
          FROM search_candidates c WHERE c.run_id = :run_id GROUP BY c.search_id
    ), found AS (
        SELECT t.id, min(l.id) AS listing_id
          FROM searched x
          JOIN search_targets t ON t.id = x.search_id
          JOIN store_listings l ON l.store_id = t.store_id AND l.product_id = t.product_id AND l.status = 'active'
         GROUP BY t.id
    ), settled AS (
        UPDATE search_targets t
           SET status = CASE WHEN f.listing_id IS NOT NULL THEN 'found' ELSE 'not_found' END,
               status_rule = CASE WHEN f.listing_id IS NOT NULL THEN :rule_linked ELSE :rule_differ END,
               found_listing_id = f.listing_id,
               candidates = x.candidates,
               attempts = CASE WHEN f.listing_id IS NOT NULL THEN 0 ELSE t.attempts + 1 END,
               last_searched_at = pricehound_now(),
               next_due_at = pricehound_now() + search_interval(
                   t.priority, CASE WHEN f.listing_id IS NOT NULL THEN 0 ELSE t.attempts + 1 END,
                   s.min_interval, s.max_interval),
               updated_at = pricehound_now()
          FROM searched x
          JOIN stores s ON true
          LEFT JOIN found f ON f.id = x.search_id
         WHERE t.id = x.search_id AND s.id = t.store_id
        RETURNING t.id, t.status, t.found_listing_id
    )
    SELECT id, status, found_listing_id FROM settled ORDER BY id
    """
)


@dataclass(frozen=True)
class Settled:
    search_id: int
    status: str
    listing_id: int | None


def link_candidates(conn: Connection, listing_ids: Sequence[int]) -> None:
    """The identity rules decide which candidates are which product (pricehound.identity)."""
    if not listing_ids:
        return
    try:
        from pricehound import identity
    except ImportError:  # the catalogue's identity rules are not installed: nothing is linked
        log.warning("search candidates left unlinked: pricehound.identity is not available")
        return
    identity.link_listings(conn, list(listing_ids))


def settle(conn: Connection, run_id: int) -> list[Settled]:
    """Link the run's candidates, then say for each of its searches whether the product was found;
    a found listing joins the frontier at once with its watchers (set-based, one statement each)."""
    ids = conn.execute(sa.text("SELECT DISTINCT listing_id FROM search_candidates WHERE run_id = :r"),
                       {"r": run_id}).scalars().all()
    if not ids:
        return []
    link_candidates(conn, ids)
    rows = conn.execute(SETTLE_SQL, {"run_id": run_id, "rule_linked": S.RULE_LINKED,
                                     "rule_differ": S.RULE_NOT_THE_PRODUCT}).all()
    found = [r.found_listing_id for r in rows if r.found_listing_id is not None]
    if found:
        conn.execute(sa.text("SELECT refresh_crawl_priorities(CAST(:ids AS bigint[]), true)"), {"ids": found})
    proposed = propose_title_matches(conn, run_id, [r.id for r in rows if r.status != "found"])
    return [Settled(r.id, "candidate" if r.id in proposed else r.status,
                    proposed.get(r.id, r.found_listing_id)) for r in rows]


CANDIDATE_EVIDENCE_SQL = sa.text(
    """
    SELECT c.search_id, l.id AS listing_id, l.title, l.gtin, l.brand, l.mpn,
           p.name AS product_name, p.brand AS product_brand, p.mpn AS product_mpn,
           ARRAY(SELECT g.gtin FROM product_gtins g WHERE g.product_id = p.id) AS product_gtins
      FROM search_candidates c
      JOIN search_targets t ON t.id = c.search_id
      JOIN branded_products p ON p.id = t.product_id
      JOIN store_listings l ON l.id = c.listing_id
     WHERE c.run_id = :run_id AND c.search_id = ANY (:ids) AND l.product_id IS NULL AND l.title IS NOT NULL
     ORDER BY c.search_id, c.score DESC, l.id
    """
)


def propose_title_matches(conn: Connection, run_id: int, search_ids: Sequence[int]) -> dict[int, int]:
    """Searches whose best unlinked candidate the identity rules would link on its title once a
    person confirms it: those say ``candidate`` (search id -> listing id), the others stay
    ``not_found``. The rules are pricehound.identity's own (decide_link)."""
    if not search_ids:
        return {}
    try:
        from pricehound import identity
    except ImportError:
        return {}
    proposed: dict[int, int] = {}
    for r in conn.execute(CANDIDATE_EVIDENCE_SQL, {"run_id": run_id, "ids": list(search_ids)}):
        if r.search_id in proposed:
            continue
        listing = identity.IdentityEvidence.from_listing(r.title, gtin=r.gtin, brand=r.brand, mpn=r.mpn)
        product = identity.product_evidence(r.product_name, brand=r.product_brand, mpn=r.product_mpn,
                                            gtins=r.product_gtins or ())
        if identity.decide_link(listing, product).rule == "title_match_unconfirmed":
            proposed[r.search_id] = int(r.listing_id)
    if proposed:
        conn.execute(sa.text(
            """
            UPDATE search_targets t SET status = 'candidate', status_rule = :rule, found_listing_id = p.listing_id
              FROM unnest(CAST(:ids AS bigint[]), CAST(:listings AS bigint[])) AS p(search_id, listing_id)
             WHERE t.id = p.search_id
            """), {"rule": S.RULE_CANDIDATE, "ids": list(proposed), "listings": list(proposed.values())})
    return proposed


__all__ = ["SearchTarget", "Settled", "add_candidates", "link_candidates", "load_searches", "on_store",
           "record_outcome", "settle"]
