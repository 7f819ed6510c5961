"""Is this a product page, something else (home, category, search, error), or a bot challenge?"""

from __future__ import annotations

import re

_CHALLENGE_TITLE = re.compile(
    r"just a moment|attention required|access denied|access to this page has been denied|"
    r"pardon our interruption|robot check|are you a (?:robot|human)|security check|captcha|"
    r"verify you are (?:a )?human|ddos-guard|one more step|request unsuccessful|you have been blocked|"
    r"bot verification|checking your browser|please wait while we verify|human verification|"
    r"please enable cookies|sorry, you have been blocked|forbidden",
    re.I,
)
_WEAK_BODY = re.compile(r"g-recaptcha|h-captcha|recaptcha/api\.js|hcaptcha\.com", re.I)
_CHALLENGE_BODY = re.compile(
    r"cf-browser-verification|cf_chl_|/cdn-cgi/challenge-platform|challenge-form|"
    r"px-captcha|_incapsula_resource|distil_r_captcha|captcha-delivery\.com|geo\.captcha|"
    r"perimeterx|datadome|verify you are human|are you a robot|unusual traffic|automated access|"
    r"enter the characters you see below|why have i been blocked|cf-error-details",
    re.I,
)


def _words(rx):
    from .keywords import required_words

    return required_words(rx.pattern)


# Words one of which each body pattern needs (lower case): a page holding none of them skips the
# case-insensitive alternations, which cost about a microsecond per character of a 200 kB head.
_CHALLENGE_BODY_WORDS = _words(_CHALLENGE_BODY)
_WEAK_BODY_WORDS = _words(_WEAK_BODY)


def _may_match(words, low: str) -> bool:
    return words is None or any(w in low for w in words)


def is_challenge(title: str | None, text: str, visible_chars: int, has_product: bool) -> bool:
    if has_product:
        return False
    if title and _CHALLENGE_TITLE.search(title) and visible_chars < 20000:
        return True
    if visible_chars >= 5000:
        return False
    head = text[:200_000]
    low = head.lower()
    if _may_match(_CHALLENGE_BODY_WORDS, low) and _CHALLENGE_BODY.search(head):
        return True
    if visible_chars >= 800 or not _may_match(_WEAK_BODY_WORDS, low):
        return False
    return bool(_WEAK_BODY.search(head))


def decide(*, has_structured_product: bool, listing: bool, og_type: str | None, price_found: bool,
           buttons: int, title_found: bool, candidates: int, strong_visible: bool,
           focus: bool = True) -> str:
    """product or not_product.

    A listing (home, category, search page) is a page of many product tiles with no single
    product in focus: structured data that is an ItemList / CollectionPage / SearchResultsPage
    or several products none of which is the page's own, or a grid of price-bearing tiles with
    no price or buy button beside the title outside it (`focus`: a price or buy button beside
    the title that is no tile of a grid and no search result captioned by a link).
    """
    if has_structured_product and not (listing and (not price_found or not focus)):
        return "product"
    if listing:
        return "not_product"
    if og_type and og_type.lower() in ("product", "og:product", "product.item", "product.group"):
        return "product"
    if not focus:
        return "not_product"
    # a price or buy button beside the title, outside any grid: however many buttons the rest
    # of the page has (carousels, bundles, accessories), the page is about one product
    if strong_visible and title_found:
        return "product"
    if price_found and title_found and buttons >= 1:
        return "product"
    return "not_product"
