"""The kinds of email pricehound sends, stated once.

Adding an alert kind is one line here plus ``alerts/templates/<kind>/`` (subject.txt, body.txt,
body.html), and a migration that widens the two CHECK constraints in the database; a test
(tests/foundation/test_kinds.py) compares those constraints, the templates and every list below
with this table, so nothing is forgotten. Everything else (watch validation, the outbox, the
sender, the cool-down's sale kinds, the API schema, the command line's help) derives from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertKind:
    """An alert a watcher can receive.

    ``option`` is the word a watch turns it on with (``--notify``): both price_drop and
    target_reached answer to ``sale``. ``about_price`` kinds tell a price, so they are never
    sent while the item cannot be bought and a deeper drop re-arms them inside the cool-down.
    ``default`` options are on for a watch that names none."""

    name: str
    option: str
    about_price: bool = False
    default: bool = False


ALERTS: tuple[AlertKind, ...] = (
    AlertKind("price_drop", "sale", about_price=True, default=True),
    AlertKind("target_reached", "sale", about_price=True, default=True),
    AlertKind("sold_out", "sold_out", default=True),
    AlertKind("back_in_stock", "back_in_stock", default=True),
    AlertKind("removed", "removed", default=True),
    AlertKind("price_rise", "price_rise"),
    AlertKind("new_low", "new_low", about_price=True),
    AlertKind("cheapest_store", "cheapest_store", about_price=True),
)

# Emails about the account rather than a product: confirm an address, sign in, a channel that
# stopped working.
TRANSACTIONAL_KINDS: tuple[str, ...] = ("verify", "login", "channel_disabled")

ALERT_KINDS: tuple[str, ...] = tuple(k.name for k in ALERTS)
EMAIL_KINDS: tuple[str, ...] = ALERT_KINDS + TRANSACTIONAL_KINDS
SALE_KINDS: tuple[str, ...] = tuple(k.name for k in ALERTS if k.about_price)
NOTIFY_KINDS: tuple[str, ...] = tuple(dict.fromkeys(k.option for k in ALERTS))
DEFAULT_NOTIFY: tuple[str, ...] = tuple(dict.fromkeys(k.option for k in ALERTS if k.default))
