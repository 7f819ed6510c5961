"""What a crawl records for a fetched page (spiders.observe.decide): removed only on evidence,
every other page that is not the product a failure with its reason."""

from __future__ import annotations

import pytest

from spiders import observe
from spiders.extraction.model import Extraction, not_a_product
from spiders.observe import decide

PRODUCT = Extraction(name="Kettle", page_kind="product",
                     rules={"price": "price.x", "availability": "availability.y", "page_kind": "kind.z"})
LISTING = not_a_product("gone", "listing", "kind.listing")
NOT_FOUND = not_a_product("gone", "not_found", "kind.not_found")
MAINTENANCE = not_a_product("unrecognised", "maintenance", "kind.maintenance")
CHALLENGE = not_a_product("challenge", "captcha", "kind.challenge_title")
NOTHING = not_a_product("unrecognised", "no_product_evidence", "kind.no_product_evidence")

P = "https://shop.example/products/kettle"


def _v(status, final, redirected, ex, requested=P):
    v = decide(status, requested, final, redirected, ex)
    return v.kind, v.reason


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_status_is_removed_whatever_the_body(status):
    assert _v(status, P, False, None) == ("removed", f"http_{status}")
    assert _v(status, P, False, PRODUCT) == ("removed", f"http_{status}")


def test_an_error_status_is_a_failure_and_a_challenge_body_says_so():
    assert _v(503, P, False, NOTHING) == ("failed", "http_503")
    assert _v(403, P, False, CHALLENGE) == ("failed", "challenge")


def test_a_product_page_is_ok_and_carries_its_rules():
    v = decide(200, P, P, False, PRODUCT)
    assert (v.kind, v.reason) == ("ok", None)
    assert v.rules == ("observe.product", "availability:availability.y", "page_kind:kind.z", "price:price.x")


def test_nothing_read_is_a_failure():
    assert _v(200, P, False, None) == ("failed", "unreadable")


@pytest.mark.parametrize("final", ["https://shop.example/", "https://shop.example", "https://shop.example/index.html",
                                   "https://shop.example/home"])
def test_a_redirect_to_the_home_page_is_removed(final):
    assert _v(200, final, True, LISTING) == ("removed", "redirect_home")
    assert _v(200, final, True, NOTHING) == ("removed", "redirect_home")


def test_a_redirect_to_the_home_of_the_same_region_is_removed_another_regions_home_is_not():
    assert _v(200, "https://shop.example/de/", True, NOTHING, requested="https://shop.example/de/p/1") == (
        "removed", "redirect_home")
    assert _v(200, "https://shop.example/en-gb/", True, NOTHING) == ("failed", "geo_block")


def test_a_home_page_that_is_a_product_is_read():
    assert _v(200, "https://shop.example/", True, PRODUCT) == ("ok", None)


def test_a_redirect_to_a_listing_or_a_not_found_page_is_removed():
    assert _v(200, "https://shop.example/collections/all", True, LISTING) == ("removed", "redirect_listing")
    assert _v(200, "https://shop.example/404", True, NOT_FOUND) == ("removed", "redirect_not_found")
    assert _v(200, P, False, NOT_FOUND) == ("removed", "not_found")


@pytest.mark.parametrize(("final", "reason"), [
    ("https://shop.example/account/login?return_url=/products/kettle", "login_wall"),
    ("https://shop.example/challenge?from=/products/kettle", "bot_check"),
    ("https://shop.queue-it.net/?c=shop&e=drop", "queue"),
    ("https://shop.example/country-selector", "geo_block"),
    ("https://shop.example/password", "maintenance"),
    ("https://shop.example/age-verification", "age_gate"),
])
def test_a_redirect_to_a_wall_is_a_failure_even_when_the_wall_looks_like_a_listing(final, reason):
    assert _v(200, final, True, LISTING) == ("failed", reason)
    assert _v(200, final, True, NOTHING) == ("failed", reason)


@pytest.mark.parametrize("ex", [MAINTENANCE, CHALLENGE, NOTHING,
                                not_a_product("unrecognised", "app_shell", "kind.app_shell")])
def test_a_page_that_is_not_the_product_and_not_gone_is_a_failure_with_its_reason(ex):
    assert _v(200, P, False, ex) == ("failed", ex.page_reason)


@pytest.mark.parametrize("ex", [MAINTENANCE, CHALLENGE, not_a_product("unrecognised", "queue", "kind.queue"),
                                not_a_product("unrecognised", "app_shell", "kind.app_shell")])
def test_a_redirect_home_to_a_page_that_says_why_it_cannot_show_the_product_is_a_failure(ex):
    """A store in maintenance (or queueing, or checking for bots) sends every URL to its home."""
    assert _v(200, "https://shop.example/", True, ex) == ("failed", ex.page_reason)


def test_every_rule_is_needed():
    """Each rule decides some case no later rule decides the same way."""
    cases = {
        "observe.status_gone": (404, P, False, PRODUCT),
        "observe.status_error": (500, P, False, PRODUCT),
        "observe.unreadable": (200, P, False, None),
        "observe.redirect_to_a_wall": (200, "https://shop.example/account/login", True, LISTING),
        "observe.challenge": (200, "https://shop.example/", True, CHALLENGE),
        "observe.page_that_cannot_be_read_now": (200, "https://shop.example/", True, MAINTENANCE),
        "observe.redirect_to_another_region": (200, "https://shop.example/fr/", True, NOTHING),
        "observe.redirect_home": (200, "https://shop.example/", True, NOTHING),
        "observe.gone_page": (200, P, False, NOT_FOUND),
        "observe.not_the_product": (200, P, False, NOTHING),
    }
    assert set(cases) == {name for name, _ in observe.RULES} - {"observe.product"}
    for name, (status, final, redirected, ex) in cases.items():
        full = decide(status, P, final, redirected, ex)
        assert full.rules[0] == name
        without = tuple((n, r) for n, r in observe.RULES if n != name)
        original = observe.RULES
        observe.RULES = without
        try:
            reduced = decide(status, P, final, redirected, ex)
        finally:
            observe.RULES = original
        assert (reduced.kind, reduced.reason) != (full.kind, full.reason), name
