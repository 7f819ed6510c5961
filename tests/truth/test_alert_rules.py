"""Each alert rule on the real path (validation -> writer -> events -> evaluation -> outbox)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alerts.model import FAILED, OK, REMOVED, Reading, Watch
from tests.truth.pathway import Pathway
from tests.truth.test_model import START

D = Decimal


class Story:
    """Readings one after another, ``gap`` apart unless told; what each one mailed."""

    def __init__(self, db, watch: Watch, currency: str = "USD", **kw):
        self.path = Pathway(db, watch, **kw)
        self.at = START
        self.currency = currency

    def ok(self, price, availability="in_stock", *, after=timedelta(hours=1), seen=True):
        return self._step(Reading(OK, self._tick(after), D(price) if price else None, self.currency if price else None,
                                  availability, seen))

    def gone(self, *, after=timedelta(hours=1)):
        return self._step(Reading(REMOVED, self._tick(after)))

    def failed(self, *, after=timedelta(hours=1)):
        return self._step(Reading(FAILED, self._tick(after)))

    def _tick(self, after):
        self.at += after
        return self.at

    def _step(self, reading):
        return [(s.kind, s.cheaper_than) if s.cheaper_than else s.kind for s in self.path.step(reading)]


def test_in_unknown_out_mails_sold_out_and_out_unknown_in_mails_back_in_stock(db):
    s = Story(db, Watch())
    s.ok("40.00", "in_stock")
    assert s.ok("40.00", "unknown") == []
    assert s.ok("40.00", "out_of_stock") == []  # held for a second reading
    assert s.ok("40.00", "out_of_stock") == ["sold_out"]
    assert s.ok("40.00", "unknown") == []
    assert s.ok("40.00", "in_stock") == []
    assert s.ok("40.00", "in_stock") == ["back_in_stock"]


def test_no_sale_or_target_mail_while_out_of_stock(db):
    s = Story(db, Watch(target=D("30.00"), min_drop_percent=D(10)))
    s.ok("40.00", "out_of_stock")
    assert s.ok("32.00", "out_of_stock") == []  # a 20% drop nobody can buy
    assert s.ok("29.00", "unknown") == [], "the last stated stock is still out of stock"


def test_back_in_stock_cheaper_says_so_once(db):
    s = Story(db, Watch(target=D("30.00")))
    s.ok("40.00", "in_stock")
    s.ok("40.00", "out_of_stock")
    assert s.ok("40.00", "out_of_stock") == ["sold_out"]
    assert s.ok("35.00", "out_of_stock") == []
    s.ok("29.00", "in_stock")
    assert s.ok("29.00", "in_stock") == [("back_in_stock", D("40.00"))], \
        "one email: back in stock, and cheaper than when it was last in stock"


def test_new_low_counts_a_price_unchanged_since_before_the_window(db):
    s = Story(db, Watch(notify=frozenset({"new_low"})))
    s.ok("40.00")
    assert s.ok("20.00", after=timedelta(days=45)) == [], "held: a 50% move is read twice"
    assert s.ok("20.00", after=timedelta(minutes=5)) == ["new_low"]


def test_new_low_uses_the_watch_window(db):
    month = Story(db, Watch(notify=frozenset({"new_low"}), new_low_days=30))
    quarter = Story(db, Watch(notify=frozenset({"new_low"}), new_low_days=90))
    for s in (month, quarter):
        s.ok("18.00")
        s.ok("22.00", after=timedelta(days=10))
        s.ok("21.00", after=timedelta(days=50))
    assert month.ok("19.00", after=timedelta(days=1)) == ["new_low"]
    assert quarter.ok("19.00", after=timedelta(days=1)) == [], "18.00 was in force 61 days ago"


def test_a_deeper_drop_inside_the_cool_down_mails_again_and_flapping_mails_once(db):
    s = Story(db, Watch(min_drop_percent=D(10)))
    s.ok("40.00")
    assert s.ok("34.00") == ["price_drop"]
    assert s.ok("40.00", after=timedelta(minutes=30)) == []
    assert s.ok("34.00", after=timedelta(minutes=30)) == [], "flapping back to a told price"
    assert s.ok("32.00", after=timedelta(minutes=30)) == [], "not 10% below the told 34.00"
    s.ok("15.00", after=timedelta(hours=2))
    assert s.ok("15.00", after=timedelta(minutes=5)) == ["price_drop"], "a deeper drop inside the cool-down"


def test_removed_failed_removed_mails_nothing(db):
    s = Story(db, Watch())
    s.ok("40.00")
    assert s.gone() == []
    assert s.failed() == []
    assert s.gone() == []
    assert s.gone() == ["removed"]


def test_structured_data_alone_never_moves_a_price_twenty_fold(db):
    """A zero-decimal store flipping between layouts: the page shows 12990, JSON-LD alone 13."""
    s = Story(db, Watch(notify=frozenset({"sale", "new_low", "price_rise"}), target=D("12000")), currency="CLP")
    s.ok("12990.00")
    for _ in range(4):
        assert s.ok("13.00", seen=False) == []
        assert s.ok("12990.00") == []
