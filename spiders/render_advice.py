"""Which stores need their pages rendered: evidence counted per page while crawling, named rules
deciding at the end of a run.

A store that builds its product pages in the browser serves HTML in which nothing says what the
product costs: an app shell (little text, a root element, scripts) or a page of scripts with no
product data in it. The extraction chain reads such a page as ``unrecognised`` (``app_shell`` or
``no_product_evidence``), a failure to read that never alerts anyone. Counted over a run, it
tells the operator what to do: render the store's pages. Nothing switches by itself; the advice is
on the run (``crawl_runs.render_advice``), in ``pricehound status`` and in ``pricehound explain``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from spiders.extraction import Extraction
from spiders.extraction import vocabulary as V

PAGES_READ = "pricehound/pages_read"
APP_SHELL = "pricehound/render_advice/app_shell"
SCRIPTS_WITHOUT_PRODUCT = "pricehound/render_advice/scripts_without_product"

# A script that runs: no type, or a JavaScript type or a module (data blocks such as JSON-LD or
# application/json state are not programs).
_SCRIPT_TAG = re.compile(rb"<script\b([^>]*)>", re.I)
_DATA_TYPE = re.compile(rb"""\btype\s*=\s*["']?(?!(?:text/javascript|application/javascript|module)\b)""", re.I)


def runs_scripts(body: bytes) -> bool:
    """Whether the page as served has a script that would run in a browser."""
    for m in _SCRIPT_TAG.finditer(body[:V.CHALLENGE_HEAD_CHARS]):
        if not _DATA_TYPE.search(m.group(1)):
            return True
    return False


def page_evidence(extraction: Extraction | None, body: bytes) -> str | None:
    """The stats key this page adds to, if it looks like a page built by script."""
    if extraction is None or extraction.page_kind != "unrecognised":
        return None
    if extraction.page_reason == "app_shell":
        return APP_SHELL
    if extraction.page_reason == "no_product_evidence" and runs_scripts(body):
        return SCRIPTS_WITHOUT_PRODUCT
    return None


Rule = Callable[[int, int, int], "str | None"]


def _enough(count: int, read: int) -> bool:
    return count >= V.RENDER_ADVICE_MIN_PAGES and read > 0 and count / read >= V.RENDER_ADVICE_SHARE


def rule_app_shells(shells: int, scripted: int, read: int) -> str | None:
    """Most pages are app shells: a root element and scripts, almost no text, no product data."""
    if _enough(shells, read):
        return f"{shells} of {read} pages came back as app shells (scripts, a root element, no product data)"
    return None


def rule_scripts_without_product(shells: int, scripted: int, read: int) -> str | None:
    """Most pages carry scripts but no product data a crawl can read without running them."""
    if _enough(shells + scripted, read):
        return f"{shells + scripted} of {read} pages had scripts but no product data"
    return None


RULES: tuple[tuple[str, Rule], ...] = (
    ("render.app_shells", rule_app_shells),
    ("render.scripts_without_product", rule_scripts_without_product),
)


def advice(stats: Mapping[str, Any], slug: str, render: str = "none") -> str | None:
    """The advice for a finished run of a store that does not render, or None."""
    if render == "js":
        return None
    shells = int(stats.get(APP_SHELL) or 0)
    scripted = int(stats.get(SCRIPTS_WITHOUT_PRODUCT) or 0)
    read = int(stats.get(PAGES_READ) or 0)
    for name, rule in RULES:
        said = rule(shells, scripted, read)
        if said:
            return f"{said} ({name}): render them with `pricehound stores edit {slug} --render js`"
    return None
