"""What a crawl records for one fetched page: ok, removed or failed, and why.

One function, `decide`, used by the spider (spiders/base.py) and by `pricehound extract`, so
that what extract prints is what a crawl records.

A listing is removed only on evidence that the product is not there: a 404 or 410, a redirect
to the store's home or to a listing (category, search) page, or a page that says this product
is no longer there.  Anything else that is not the product (a challenge, maintenance, a queue, a
region picker, a login, age or consent wall, an error body served with 200, an empty script
shell, a page nothing here recognises) is a failure to read, with the page's reason: it says
nothing about the product and must never tell a user it is gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from spiders.extraction import Extraction

OK, REMOVED, FAILED = "ok", "removed", "failed"
GONE_STATUSES = (404, 410)

# A path that is a store's home: "/", an index file, or a language/region root ("/en", "/de-de/").
_HOME_PATH = re.compile(r"^/?(?:(?P<locale>[a-z]{2}(?:[-_][a-z]{2})?)/?|(?:index\.(?:html?|php|aspx?)|home)/?)?$", re.I)
# Where a store sends a request it will not serve to this client: a sign-in, a challenge, a queue,
# a region picker, a maintenance or password page.
_REDIRECT_REASONS = (
    ("login_wall", re.compile(r"/(?:account/)?(?:log-?in|sign-?in|signin|auth|sso)(?:[/?.]|$)|/account(?:/|$)", re.I)),
    ("bot_check", re.compile(r"captcha|/challenge|/blocked|/cdn-cgi/|/_incapsula|/distil|perfdrive|/bot-?check", re.I)),
    ("queue", re.compile(r"queue-?it|/queue|/waiting-?room", re.I)),
    ("geo_block", re.compile(r"/(?:country|region|geo|locale)[-_]?(?:select(?:or|ion)?|picker|chooser|block)|/choose-?(?:country|region)", re.I)),
    ("maintenance", re.compile(r"/(?:maintenance|password|closed|offline)(?:[/?.]|$)", re.I)),
    ("age_gate", re.compile(r"/(?:age-?(?:gate|verification|check)|verify-?age)", re.I)),
)


@dataclass(frozen=True)
class Verdict:
    """What a crawl records: kind ok | removed | failed, the reason (None when ok), and the names
    of the rules that decided (this module's, then the extraction's for each field)."""

    kind: str
    reason: str | None
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Fetched:
    """The facts about one fetch that decide an observation besides the page itself."""

    status: int | None
    requested_url: str | None
    final_url: str | None
    redirected: bool
    extraction: Extraction | None


Rule = Callable[[Fetched], "tuple[str, str | None] | None"]


def _path(url: str | None) -> str:
    try:
        return urlsplit(url or "").path
    except ValueError:
        return ""


def rule_status_gone(f: Fetched):
    """404 and 410 mean the store says the page is gone."""
    if f.status in GONE_STATUSES:
        return REMOVED, f"http_{f.status}"
    return None


def rule_status_error(f: Fetched):
    """Any other error status is a failure to read (a 5xx, a 403 or 429 with no challenge page)."""
    if f.status is not None and f.status >= 400:
        if f.extraction is not None and f.extraction.page_kind == "challenge":
            return FAILED, "challenge"
        return FAILED, f"http_{f.status}"
    return None


def rule_unreadable(f: Fetched):
    """Nothing came back that could be read."""
    if f.extraction is None:
        return FAILED, "unreadable"
    return None


def rule_redirect_to_a_wall(f: Fetched):
    """Redirected to a sign-in, challenge, queue, region, maintenance or age page: a failure."""
    if not f.redirected or f.extraction is None or f.extraction.page_kind == "product":
        return None
    try:
        parts = urlsplit(f.final_url or "")
    except ValueError:
        return None
    where = parts.netloc + parts.path + ("?" + parts.query if parts.query else "")
    for reason, rx in _REDIRECT_REASONS:
        if rx.search(where):
            return FAILED, reason
    return None


def rule_challenge(f: Fetched):
    """A bot check or captcha in the page's place says nothing about the product."""
    ex = f.extraction
    if ex is not None and ex.page_kind == "challenge":
        return FAILED, ex.page_reason or "challenge"
    return None


def rule_page_that_cannot_be_read_now(f: Fetched):
    """A page that says why it cannot show the product now (maintenance, a queue, a wall, an
    error body, an app shell): a failure with that reason, wherever the request was redirected
    (a store in maintenance sends every URL to its home page)."""
    ex = f.extraction
    if ex is not None and ex.page_kind == "unrecognised" and ex.page_reason not in (None, "no_product_evidence"):
        return FAILED, ex.page_reason
    return None


def _home_redirect(f: Fetched):
    """The home path a page that is no product was redirected to, or None."""
    ex = f.extraction
    if not f.redirected or ex is None or ex.page_kind == "product":
        return None
    if _HOME_PATH.match(_path(f.requested_url)):
        return None
    return _HOME_PATH.match(_path(f.final_url))


def rule_redirect_to_another_region(f: Fetched):
    """Redirected to the home of a language or region the product URL was not in ("/products/x"
    to "/en-gb/"): the store sends this client to its region, which says nothing about the
    product."""
    home = _home_redirect(f)
    if home is None or not home.group("locale"):
        return None
    first = _path(f.requested_url).strip("/").split("/", 1)[0].lower()
    if first != home.group("locale").lower():
        return FAILED, "geo_block"
    return None


def rule_redirect_home(f: Fetched):
    """Redirected to the store's home page: the store's way of saying the product is gone."""
    if _home_redirect(f) is not None:
        return REMOVED, "redirect_home"
    return None


def rule_gone_page(f: Fetched):
    """The page says the product is gone: not found, no longer available, or a listing (category,
    search, home) served in its place; reached by a redirect or not."""
    ex = f.extraction
    if ex is not None and ex.page_kind == "gone":
        reason = ex.page_reason or "not_found"
        return REMOVED, f"redirect_{reason}" if f.redirected else reason
    return None


def rule_not_the_product(f: Fetched):
    """Anything else that is not the product (a page nothing here recognises): a failure with
    the page's reason, never a removal."""
    ex = f.extraction
    if ex is not None and ex.page_kind != "product":
        return FAILED, ex.page_reason or "no_product_evidence"
    return None


def rule_product(f: Fetched):
    """A product page: its price and stock are the observation."""
    return OK, None


RULES: tuple[tuple[str, Rule], ...] = (
    ("observe.status_gone", rule_status_gone),
    ("observe.status_error", rule_status_error),
    ("observe.unreadable", rule_unreadable),
    ("observe.redirect_to_a_wall", rule_redirect_to_a_wall),
    ("observe.challenge", rule_challenge),
    ("observe.page_that_cannot_be_read_now", rule_page_that_cannot_be_read_now),
    ("observe.redirect_to_another_region", rule_redirect_to_another_region),
    ("observe.redirect_home", rule_redirect_home),
    ("observe.gone_page", rule_gone_page),
    ("observe.not_the_product", rule_not_the_product),
    ("observe.product", rule_product),
)


def decide(status: int | None, requested_url: str | None, final_url: str | None, redirected: bool,
           extraction: Extraction | None) -> Verdict:
    """ok, removed or failed for one fetched page (`extraction` None: nothing could be read)."""
    f = Fetched(status=status, requested_url=requested_url, final_url=final_url or requested_url,
                redirected=redirected, extraction=extraction)
    for name, rule in RULES:
        got = rule(f)
        if got is not None:
            kind, reason = got
            fields = () if extraction is None else tuple(
                f"{field}:{rule_name}" for field, rule_name in sorted(extraction.rules.items()))
            return Verdict(kind=kind, reason=reason, rules=(name, *fields))
    raise AssertionError("rule_product always answers")  # pragma: no cover
