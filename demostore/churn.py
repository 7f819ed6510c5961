"""Changes prices and stock of a running demo store now and then, like real shops do."""

from __future__ import annotations

import random
import threading
from decimal import ROUND_HALF_UP, Decimal

from .server import DemoStoreServer


class Churner:
    """Every ``interval`` seconds change one product: a price drop or rise, a sale ending,
    selling out or coming back. Only products with status "ok" are touched. Deterministic for a
    given seed and sequence of ticks; every change lands in ``server.change_log()`` with
    source "churn".
    """

    def __init__(self, server: DemoStoreServer, interval: float = 5.0, seed: int = 0):
        self.server = server
        self.interval = float(interval)
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> dict | None:
        """Make one change now; returns the change-log entry (None if nothing was eligible)."""
        rng = self.rng
        candidates = [(s, p) for s in self.server.store_slugs for p in self.server.products(s)
                      if p.status == "ok"]
        if not candidates:
            return None
        store, p = rng.choice(candidates)
        roll = rng.random()
        if p.availability == "out_of_stock" and roll < 0.6:
            return self.server.set_product(store, p.id, _source="churn", availability="in_stock")
        if p.availability == "in_stock" and roll < 0.15:
            return self.server.set_product(store, p.id, _source="churn", availability="out_of_stock")
        if p.on_sale and roll < 0.35:
            return self.server.set_product(store, p.id, _source="churn", price=p.regular_price,
                                           regular_price=None)
        factor = Decimal(str(round(rng.uniform(0.70, 0.95) if roll < 0.8 else rng.uniform(1.03, 1.15), 2)))
        new_price = (p.price * factor).quantize(Decimal("1"), rounding=ROUND_HALF_UP) - Decimal("0.01")
        if new_price <= 0 or new_price == p.price:
            new_price = p.price + Decimal("1.00")
        changes = {"price": new_price}
        if new_price < p.price and not p.on_sale:
            changes["regular_price"] = p.price
        elif new_price > p.price:
            changes["regular_price"] = None
        return self.server.set_product(store, p.id, _source="churn", **changes)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a demo helper must not die on one bad tick
                pass

    def start(self) -> Churner:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="demostore-churn", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Churner:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
