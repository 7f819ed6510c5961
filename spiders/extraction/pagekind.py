"""What a page that is not a product says it is: gone, a challenge, or something unrecognised.

Evidence: `PageStatements`, the places a page states what it is (its title, its headings, its
notices, and all of its visible text when it is short).  Rules: small functions tried in order,
each returning (kind, reason) or None, each named; the first that answers decides.

The order is the safety of the answer.  A challenge, a queue, maintenance, a wall or an error
body says nothing about the product, so they are tried before anything that would say "gone":
a page that both apologises for an error and says "not found" is a failure to read, not a
removal.  "Gone" needs positive evidence: the page says this product or page is not there, or
it is a listing (a grid of products, structured data of a list) served in the product's place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import vocabulary as V
from .dom import classes, norm, text_content


def _rx(phrases) -> re.Pattern:
    return re.compile("|".join(phrases), re.I)


NOT_FOUND = _rx(V.NOT_FOUND_PHRASES)
NO_LONGER_AVAILABLE = _rx(V.NO_LONGER_AVAILABLE_PHRASES)
MAINTENANCE = _rx(V.MAINTENANCE_PHRASES)
QUEUE = _rx(V.QUEUE_PHRASES)
GEO_BLOCK = _rx(V.GEO_BLOCK_PHRASES)
LOGIN_WALL = _rx(V.LOGIN_WALL_PHRASES)
LOGIN_HEADING = _rx(V.LOGIN_HEADINGS)
AGE_GATE = _rx(V.AGE_GATE_PHRASES)
RATE_LIMITED = _rx(V.RATE_LIMITED_PHRASES)
ERROR_PAGE = _rx(V.ERROR_PAGE_PHRASES)
CONSENT_WALL = _rx(V.CONSENT_WALL_PHRASES)
JAVASCRIPT_REQUIRED = _rx(V.JAVASCRIPT_REQUIRED_PHRASES)
CHALLENGE_TITLE = _rx(V.CHALLENGE_TITLE_PHRASES)
CHALLENGE_BODY = _rx(V.CHALLENGE_BODY_MARKERS)
CAPTCHA = _rx(V.CAPTCHA_MARKERS)
CAPTCHA_WIDGET = _rx(V.CAPTCHA_WIDGET_MARKERS)
_NOTICE_CLASS = re.compile(V.NOTICE_CLASS)
# What a page says when it is not the product (any of these beside the heading: not a sold-out page)
STATEMENTS = (NOT_FOUND, NO_LONGER_AVAILABLE, MAINTENANCE, QUEUE, GEO_BLOCK, LOGIN_WALL, AGE_GATE, RATE_LIMITED,
              ERROR_PAGE)
_APP_ROOT_IDS = frozenset(V.APP_ROOT_IDS)


def _words(rx):
    from .keywords import required_words

    return required_words(rx.pattern)


# Words one of which each markup pattern needs (lower case): a page holding none of them skips
# the case-insensitive alternations, which cost about a microsecond per character of a 200 kB head.
_CHALLENGE_BODY_WORDS = _words(CHALLENGE_BODY)
_CAPTCHA_WORDS = _words(CAPTCHA)
_CAPTCHA_WIDGET_WORDS = _words(CAPTCHA_WIDGET)


def _may_match(words, low: str) -> bool:
    return words is None or any(w in low for w in words)


# ---------------------------------------------------------------- evidence

@dataclass(frozen=True)
class PageStatements:
    """Where a page says what it is, read once from the pruned (visible) tree.

    A long page states what it is in its title and its main heading; its other headings and
    notices belong to its content (a product page carries "Sorry, there was a problem" templates
    for its wish-list button, "Sign in" boxes, review headings).  A short page is all statement.
    """

    title: str
    main_headings: tuple[str, ...]  # the h1s
    headings: tuple[str, ...]  # h2 and h3
    notices: tuple[str, ...]
    lead: str  # all the visible text of a short page; "" on a long one
    visible_chars: int  # outside the store's frame (header, navigation, footer)
    markup_head: str  # the start of the raw markup (challenge and queue scripts live there)
    app_root: bool  # an empty element a script application mounts into
    password_input: bool

    @property
    def short(self) -> bool:
        return self.visible_chars < V.SHORT_PAGE_TEXT

    @property
    def statements(self) -> tuple[str, ...]:
        if not self.short:
            return (self.title, *self.main_headings)
        return (self.title, *self.main_headings, *self.headings, *self.notices, self.lead)

    def says(self, rx: re.Pattern) -> str | None:
        """The first statement `rx` finds, as matched."""
        for text in self.statements:
            if text:
                m = rx.search(text)
                if m:
                    return m.group(0)
        return None


_CHROME_TAGS = frozenset({"header", "footer", "nav", "aside"})
_CHROME_TOKEN = re.compile(V.CHROME_CLASS)


def _chrome(el) -> bool:
    """The store's frame around every page (header, navigation, footer): it states nothing
    about this page ("Sign in", "Choose your country", "Cookie settings" are in every frame)."""
    tag = el.tag.lower()
    if tag in _CHROME_TAGS:
        return True
    if tag in ("div", "section", "ul", "ol", "form"):
        cls = classes(el)
        return bool(cls) and any(_CHROME_TOKEN.match(tok) for tok in cls.split())
    return False


def read_statements(root, title: str | None, markup: str) -> PageStatements:
    """`root`: the pruned tree; `title`: the page's <title>; `markup`: the page's text as served."""
    body = root.find(".//body") if root is not None else None
    scope = body if body is not None else root
    reader = _StatementReader(scope)
    reader.walk()
    main = norm(" ".join(reader.texts))
    return PageStatements(
        title=norm(title or "")[:300], main_headings=tuple(reader.h1s), headings=tuple(reader.headings),
        notices=tuple(reader.notices), lead=main[:V.LEAD_CHARS] if len(main) < V.SHORT_PAGE_TEXT else "",
        visible_chars=len(main), markup_head=markup[:V.CHALLENGE_HEAD_CHARS], app_root=reader.app_root,
        password_input=reader.password,
    )


class _StatementReader:
    """One walk of the visible tree outside the store's frame: its text, headings, notices, an
    empty app root and a password field."""

    def __init__(self, scope):
        self.scope = scope
        self.h1s: list[str] = []
        self.headings: list[str] = []
        self.notices: list[str] = []
        self.texts: list[str] = []
        self.total = 0
        self.app_root = False
        self.password = False

    def walk(self) -> None:
        stack = [self.scope] if self.scope is not None else []
        while stack:
            el = stack.pop()
            if isinstance(el, str):
                self.texts.append(el)
                self.total += len(el)
            elif isinstance(el.tag, str):
                self._element(el, stack)

    def _element(self, el, stack: list) -> None:
        if el is not self.scope and _chrome(el):
            if el.tail and el.tail.strip():
                stack.append(el.tail)
            return
        self._marks(el, el.tag.lower())
        self._notice(el)
        if el is not self.scope and el.tail and el.tail.strip():
            stack.append(el.tail)
        if self.total < V.MAIN_TEXT_READ:
            stack.extend(reversed(el))
            if el.text and el.text.strip():
                stack.append(el.text)

    def _marks(self, el, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and len(self.h1s) + len(self.headings) < V.HEADINGS_READ:
            t = norm(text_content(el, 300))
            if t:
                (self.h1s if tag == "h1" else self.headings).append(t)
        elif tag == "input" and (el.get("type") or "").lower() == "password":
            self.password = True
        elif tag == "div" and (el.get("id") or "").lower() in _APP_ROOT_IDS and not norm(text_content(el, 50)):
            self.app_root = True

    def _notice(self, el) -> None:
        if len(self.notices) >= V.NOTICES_READ:
            return
        cls = classes(el) + " " + (el.get("role") or "")
        if cls.strip() and _NOTICE_CLASS.search(cls):
            t = norm(text_content(el, V.NOTICE_MAX_TEXT + 1))
            if t and len(t) <= V.NOTICE_MAX_TEXT:
                self.notices.append(t)


# ---------------------------------------------------------------- challenges

def challenge(title: str | None, markup: str, visible_chars: int) -> tuple[str, str, str] | None:
    """(kind, reason, rule) when a bot check or captcha stands in the page's place.

    Asked only of a page that shows no structured product: a product page that embeds a captcha
    widget (for reviews, for a newsletter) is still the product.
    """
    head = markup[:V.CHALLENGE_HEAD_CHARS]
    low = head.lower()
    captcha = _may_match(_CAPTCHA_WORDS, low) and CAPTCHA.search(head) is not None
    reason = "captcha" if captcha else "bot_check"
    if title and CHALLENGE_TITLE.search(title) and visible_chars < V.CHALLENGE_TITLE_MAX_TEXT:
        return "challenge", reason, "kind.challenge_title"
    if visible_chars >= V.CHALLENGE_BODY_MAX_TEXT:
        return None
    if _may_match(_CHALLENGE_BODY_WORDS, low) and CHALLENGE_BODY.search(head):
        return "challenge", reason, "kind.challenge_markup"
    if (visible_chars < V.CAPTCHA_WIDGET_MAX_TEXT and _may_match(_CAPTCHA_WIDGET_WORDS, low)
            and CAPTCHA_WIDGET.search(head)):
        return "challenge", "captcha", "kind.captcha_widget"
    return None


# ---------------------------------------------------------------- the page that is not a product

@dataclass(frozen=True)
class NotProductEvidence:
    statements: PageStatements
    listing: bool  # structured data of a list, or a grid of product tiles with no product in focus


Rule = Callable[[NotProductEvidence], "tuple[str, str] | None"]


def _statement_rule(rx: re.Pattern, kind: str, reason: str) -> Rule:
    def rule(ev: NotProductEvidence) -> tuple[str, str] | None:
        return (kind, reason) if ev.statements.says(rx) else None
    return rule


def rule_rate_limited(ev: NotProductEvidence):
    """"Too many requests" served with a 200: the store is throttling us, not removing anything."""
    return _statement_rule(RATE_LIMITED, "unrecognised", "rate_limited")(ev)


def rule_queue(ev: NotProductEvidence):
    """A virtual queue or waiting room (its words, or a queue service's script in the markup)."""
    if ev.statements.says(QUEUE):
        return "unrecognised", "queue"
    head = ev.statements.markup_head.lower()
    if ev.statements.short and ("queue-it" in head or "queueit" in head):
        return "unrecognised", "queue"
    return None


def rule_maintenance(ev: NotProductEvidence):
    """Maintenance, a holiday closure, a store behind a password: the whole store is away."""
    return _statement_rule(MAINTENANCE, "unrecognised", "maintenance")(ev)


def rule_geo_block(ev: NotProductEvidence):
    """A country or region picker, or "not available in your country": where we ask from decides."""
    return _statement_rule(GEO_BLOCK, "unrecognised", "geo_block")(ev)


def rule_age_gate(ev: NotProductEvidence):
    """An age check in front of the page."""
    return _statement_rule(AGE_GATE, "unrecognised", "age_gate")(ev)


def rule_login_wall(ev: NotProductEvidence):
    """"Log in to continue", or a sign-in form asking for a password, in the product's place."""
    if ev.statements.says(LOGIN_WALL):
        return "unrecognised", "login_wall"
    if ev.statements.password_input and ev.statements.says(LOGIN_HEADING):
        return "unrecognised", "login_wall"
    return None


def rule_error_page(ev: NotProductEvidence):
    """A server error or "something went wrong" body served with a 200.  Tried before "not
    found", so that an error page that also says "not found" is a failure, never a removal."""
    return _statement_rule(ERROR_PAGE, "unrecognised", "error_page")(ev)


def rule_not_found(ev: NotProductEvidence):
    """The page says this page or product is not found (a soft 404)."""
    return _statement_rule(NOT_FOUND, "gone", "not_found")(ev)


def rule_no_longer_available(ev: NotProductEvidence):
    """The page says this product is no longer there, and shows no product."""
    return _statement_rule(NO_LONGER_AVAILABLE, "gone", "no_longer_available")(ev)


def rule_listing(ev: NotProductEvidence):
    """A listing, search or home page (structured list data, or a grid of product tiles with
    nothing in focus) served at the product's URL."""
    return ("gone", "listing") if ev.listing else None


def rule_consent_wall(ev: NotProductEvidence):
    """A cookie-consent page with nothing else on it."""
    if ev.statements.lead and ev.statements.says(CONSENT_WALL):
        return "unrecognised", "consent_wall"
    return None


def rule_app_shell(ev: NotProductEvidence):
    """Almost no visible text: a script application that fills the page in the browser."""
    st = ev.statements
    if st.visible_chars < V.APP_SHELL_MAX_TEXT and (
            st.app_root or "<script" in st.markup_head.lower() or JAVASCRIPT_REQUIRED.search(st.markup_head)):
        return "unrecognised", "app_shell"
    if st.short and JAVASCRIPT_REQUIRED.search(st.lead):
        return "unrecognised", "app_shell"
    return None


# In order: whatever says "we cannot show you this now" before whatever says "gone".
NOT_PRODUCT_RULES: tuple[tuple[str, Rule], ...] = (
    ("kind.rate_limited", rule_rate_limited),
    ("kind.queue", rule_queue),
    ("kind.maintenance", rule_maintenance),
    ("kind.geo_block", rule_geo_block),
    ("kind.age_gate", rule_age_gate),
    ("kind.login_wall", rule_login_wall),
    ("kind.error_page", rule_error_page),
    ("kind.not_found", rule_not_found),
    ("kind.no_longer_available", rule_no_longer_available),
    ("kind.listing", rule_listing),
    ("kind.consent_wall", rule_consent_wall),
    ("kind.app_shell", rule_app_shell),
)


def decide_not_product(ev: NotProductEvidence) -> tuple[str, str, str]:
    """(kind, reason, rule name) for a page that shows no product."""
    for name, rule in NOT_PRODUCT_RULES:
        got = rule(ev)
        if got is not None:
            return got[0], got[1], name
    return "unrecognised", "no_product_evidence", "kind.no_product_evidence"


def decide(*, has_structured_product: bool, listing: bool, og_type: str | None, price_found: bool,
           buttons: int, title_found: bool, candidates: int, strong_visible: bool,
           focus: bool = True, tiles: int = 0, sold_out_beside_title: bool = False) -> tuple[str, str]:
    """(product | listing | none, rule name): does the page show one product?

    A listing (home, category, search page) is a page of many product tiles with no single
    product in focus: structured data that is an ItemList / CollectionPage / SearchResultsPage
    or several products none of which is the page's own, or a grid of price-bearing tiles with
    no price or buy button beside the title outside it (`focus`: a price or buy button beside
    the title that is no tile of a grid and no search result captioned by a link; `tiles`: the
    prices shown in such tiles; a page with neither is no evidence of anything).
    """
    if has_structured_product and not (listing and (not price_found or not focus)):
        return "product", "kind.structured_product"
    if listing:
        return "listing", "kind.structured_listing"
    if og_type and og_type.lower() in ("product", "og:product", "product.item", "product.group"):
        return "product", "kind.og_product"
    if not focus and tiles:
        return "listing", "kind.tiles_without_focus"
    # a price or buy button beside the title, outside any grid: however many buttons the rest
    # of the page has (carousels, bundles, accessories), the page is about one product
    if strong_visible and title_found:
        return "product", "kind.price_beside_title"
    if price_found and title_found and buttons >= 1:
        return "product", "kind.title_price_and_buy_button"
    # a sold-out product page often hides its price and its button: the title with "sold out"
    # beside it (not "no longer available", which says the product is gone) is the product
    if sold_out_beside_title and title_found:
        return "product", "kind.sold_out_beside_title"
    return "none", "kind.no_product_evidence"
