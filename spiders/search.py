"""Searching a store for a product: the search URL, the sitemap fallback, and how well a result
matches what was asked. Pure functions; the spider fetches, spiders/discovery.py writes.

Vocabulary: every threshold and every word a user reads about a search lives here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote, urlsplit

from lxml import etree

# -- thresholds -------------------------------------------------------------------------------------

#: product pages crawled per search: the best few results, never the whole result list
CANDIDATES_PER_SEARCH = 3
#: a result below this share of the query's weight is not worth a page request
MIN_SCORE = 0.5
#: a number in a result that the query does not have (another size, capacity, pack) costs this share
OTHER_NUMBER_PENALTY = 0.25
#: sitemaps read per search (an index can list hundreds; product sitemaps are read first)
MAX_SITEMAPS = 4
#: URLs read from one sitemap
MAX_SITEMAP_URLS = 50_000

#: page reasons (spiders/extraction/pagekind.py) of a page served instead of the search page: the
#: search did not happen, so it is tried again rather than taken as "not found"
NOT_AN_ANSWER = frozenset({"captcha", "bot_check", "maintenance", "queue", "geo_block", "login_wall", "age_gate",
                           "rate_limited", "error_page", "app_shell", "consent_wall"})

# -- rule names (search_targets.status_rule) --------------------------------------------------------

RULE_LINKED = "discovery.linked"                       # a candidate is the product (identity rules)
RULE_CANDIDATE = "discovery.awaiting_confirmation"     # a likely page; identity wants a confirmation
RULE_NO_RESULTS = "discovery.no_results"               # the search page showed no result tiles
RULE_NO_MATCH = "discovery.no_matching_result"         # results, none close enough to the query
RULE_NOT_THE_PRODUCT = "discovery.candidates_differ"   # candidates read, none is the product
RULE_SITEMAP_NO_MATCH = "discovery.sitemap_no_match"   # no sitemap URL matches the query
RULE_NO_SEARCH = "discovery.no_search_method"          # no search URL and no sitemap
RULE_SEARCH_FAILED = "discovery.search_page_failed"    # the search page could not be fetched or read

# -- what a watcher reads ---------------------------------------------------------------------------

STATE_WORDS = {
    "found": "found at {store}",
    "candidate": "a possible match at {store} waits for confirmation",
    "pending": "searching {store}",
    "not_found": "not found at {store} yet",
    "unsearchable": "{store} cannot be searched (no search page or sitemap)",
    "failed": "not found at {store} yet (its search page did not answer; trying again)",
}


def state_words(state: str, store: str) -> str:
    """What a product watch says about one of its stores."""
    return STATE_WORDS.get(state, STATE_WORDS["pending"]).format(store=store)


# -- building requests ----------------------------------------------------------------------------

def search_url(template: str, query: str) -> str:
    """The store's search URL for ``query`` (URL-encoded; spaces as +)."""
    return template.replace("{query}", quote_plus(" ".join(query.split())))


def query_for(name: str, brand: str | None) -> str:
    """The words to search for: the product's name, with its brand when the name lacks it."""
    name = " ".join((name or "").split())
    if brand and fold(brand) not in fold(name):
        return f"{brand.strip()} {name}"
    return name


# -- matching ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z]+|\d+(?:[.,]\d+)?")
_STOP = frozenset({"the", "and", "for", "with", "by", "of", "a", "an", "de", "en", "et", "la", "le", "les",
                   "du", "des", "und", "mit", "der", "die", "das", "fur", "von"})


def fold(text: str) -> str:
    """Lower case without accents, umlauts spelled out (a German shop may write ae for ä)."""
    text = (text or "").replace("ß", "ss")
    text = re.sub(r"([äöüÄÖÜ])", lambda m: {"ä": "ae", "ö": "oe", "ü": "ue"}[m.group(1).lower()], text)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def tokens(text: str) -> list[str]:
    """Search words of a text: folded, stop words dropped, numbers kept whole (3.5, 1,7)."""
    return [t.replace(",", ".") for t in _TOKEN.findall(fold(text)) if t not in _STOP]


def _weight(token: str) -> float:
    # numbers tell sizes and models apart, so they weigh more than words
    return 2.0 if token[0].isdigit() else 1.0


def score(query: str, title: str) -> float:
    """How much of the query a result's title holds (0..1), less a penalty for each number the
    title has and the query does not (a 12" pan for a 10" one, a 6-pack for a single)."""
    q, t = set(tokens(query)), set(tokens(title))
    if not q or not t:
        return 0.0
    total = sum(_weight(x) for x in q)
    held = sum(_weight(x) for x in q & t)
    other_numbers = sum(1 for x in t - q if x[0].isdigit())
    return max(0.0, held / total - OTHER_NUMBER_PENALTY * other_numbers)


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str
    score: float


def best(query: str, results: Iterable[tuple[str, str]], *, limit: int = CANDIDATES_PER_SEARCH,
         min_score: float = MIN_SCORE) -> list[Candidate]:
    """The best ``limit`` (url, title) results at or above ``min_score``, best first; ties keep
    the store's own order (its ranking knows its catalogue)."""
    scored = []
    seen: set[str] = set()
    for order, (url, title) in enumerate(results):
        if url in seen:
            continue
        seen.add(url)
        s = score(query, title)
        if s >= min_score:
            scored.append((-s, order, Candidate(url, title, round(s, 4))))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [c for _, _, c in scored[:limit]]


def slug_title(url: str) -> str:
    """The words of a URL's last meaningful path segment ("/p/123/acme-kettle-1-7-l" -> "acme kettle 1 7 l")."""
    path = unquote(urlsplit(url).path).rstrip("/")
    segments = [s for s in path.split("/") if s]
    for seg in reversed(segments):
        seg = re.sub(r"\.(?:html?|php|aspx?)$", "", seg, flags=re.I)
        if sum(c.isalpha() for c in seg) >= 3:
            # a trailing product number ("-3001") is an id, not a size
            seg = re.sub(r"[-_]\d{3,}$", "", seg)
            return re.sub(r"[-_+]+", " ", seg)
    return ""


# -- sitemaps ---------------------------------------------------------------------------------------

def sitemaps_in_robots(text: str) -> list[str]:
    """The Sitemap lines of a robots.txt."""
    out = []
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "sitemap" and value.strip():
            out.append(value.strip())
    return out


def read_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) of a sitemap or sitemap index; unreadable: ([], [])."""
    if body[:2] == b"\x1f\x8b":
        import gzip

        try:
            body = gzip.decompress(body)[: 50 * 1024 * 1024]
        except OSError:
            return [], []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return [], []
    if root is None:
        return [], []
    pages, children = [], []
    is_index = etree.QName(root).localname.lower() == "sitemapindex"
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == "loc" and el.text:
            (children if is_index else pages).append(el.text.strip())
            if len(pages) >= MAX_SITEMAP_URLS:
                break
    return pages, children


_PRODUCT_SITEMAP = re.compile(r"(?<![a-z])(?:products?|items?|artikel|produits?)(?![a-z])", re.I)


def order_sitemaps(urls: Sequence[str]) -> list[str]:
    """Product sitemaps first (their names say so on every platform: products, product, item)."""
    def key(u: str) -> int:
        name = urlsplit(u).path.rsplit("/", 1)[-1]
        return 0 if _PRODUCT_SITEMAP.search(name) else 1
    return sorted(urls, key=key)[:MAX_SITEMAPS]


__all__ = [
    "CANDIDATES_PER_SEARCH", "Candidate", "MIN_SCORE", "STATE_WORDS", "best", "fold", "order_sitemaps",
    "query_for", "read_sitemap", "score", "search_url", "sitemaps_in_robots", "slug_title", "state_words",
    "tokens",
]
