"""The real path for one listing and one watch: validation -> writer SQL -> events -> evaluate SQL
-> outbox rows, one reading at a time on the one clock. The model test and the rule tests use it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from alerts import evaluate
from alerts.model import FAILED, OK, REMOVED, Reading, Watch
from pipelines.flush import flush_rows, row_from_dropped, row_from_observation
from pipelines.validate import InvalidObservation, validate
from pricehound import clock
from spiders.items import Observation
from spiders.targets import Target

_serial = itertools.count(1)


@dataclass
class Sent:
    kind: str
    cheaper_than: Decimal | None


class Pathway:
    """One store, one listing and one verified user's watch, created fresh (so runs never mix)."""

    def __init__(self, db: Engine, watch: Watch, *, cooldown: timedelta = timedelta(hours=6),
                 removed_after: int = 2, confirm: bool = True, confirm_share: Decimal = Decimal("0.30"),
                 max_jump: Decimal = Decimal("20")):
        self.db = db
        self.cooldown = cooldown
        self.removed_after = removed_after
        self.confirm = confirm
        self.confirm_share = confirm_share
        self.max_jump = max_jump
        n = next(_serial)
        with db.begin() as conn:
            store = conn.execute(sa.text(
                "INSERT INTO stores (slug, name, allowed_domains) VALUES (:s, 'Truth', :d) RETURNING id"),
                {"s": f"truth-{n}", "d": [f"truth{n}.example"]}).scalar_one()
            self.url = f"https://truth{n}.example/p/1"
            self.listing_id = conn.execute(sa.text(
                "INSERT INTO store_listings (store_id, url) VALUES (:s, :u) RETURNING id"),
                {"s": store, "u": self.url}).scalar_one()
            user = conn.execute(sa.text(
                "INSERT INTO users (email, name, verified_at) VALUES (:e, 'Ann', pricehound_now()) RETURNING id"),
                {"e": f"truth{n}@example.com"}).scalar_one()
            list_id = conn.execute(sa.text(
                "INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'Watching') RETURNING id"),
                {"u": user}).scalar_one()
            self.item_id = conn.execute(sa.text(
                "INSERT INTO shopping_list_items (list_id, listing_id, target_price, min_drop_percent, "
                "notify_kinds, new_low_days) VALUES (:l, :li, :t, :d, :k, :w) RETURNING id"),
                {"l": list_id, "li": self.listing_id, "t": watch.target, "d": watch.min_drop_percent,
                 "k": sorted(watch.notify), "w": watch.new_low_days}).scalar_one()

    def target(self) -> Target:
        with self.db.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT l.status, p.price, p.currency, p.availability FROM store_listings l "
                "LEFT JOIN store_prices p ON p.listing_id = l.id WHERE l.id = :l"), {"l": self.listing_id}).one()
        return Target(self.listing_id, self.url, status=row.status, price=row.price, currency=row.currency,
                      availability=row.availability)

    def observation(self, r: Reading) -> Observation:
        kind = {OK: "ok", REMOVED: "removed", FAILED: "failed"}[r.kind]
        return Observation(
            listing_id=self.listing_id, url=self.url, kind=kind,
            reason={"removed": "http_404", "failed": "maintenance"}.get(kind),
            price=r.price, currency=r.currency, availability=r.availability,
            source="visible" if r.seen else "json-ld", observed_at=r.at)

    def step(self, r: Reading) -> list[Sent]:
        """Read once at ``r.at`` and evaluate what it changed; return the outbox rows it made."""
        with clock.frozen(r.at):
            obs = self.observation(r)
            try:
                row = row_from_observation(validate(obs, self.target(), default_currency="USD",
                                                    max_jump=self.max_jump))
            except InvalidObservation as exc:
                row = row_from_dropped(obs, exc.reason)
            with self.db.begin() as conn:
                flushed = flush_rows(conn, [row], run_id=None, removed_after=self.removed_after,
                                     confirm=self.confirm, confirm_share=self.confirm_share)
            if not flushed.event_ids:
                return []
            made = evaluate.evaluate_events(self.db, flushed.event_ids,
                                            cooldown_seconds=self.cooldown.total_seconds(), window_seconds=0)
        if not made.notification_ids:
            return []
        with self.db.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT kind, payload FROM notifications WHERE id = ANY (:ids) ORDER BY id"),
                {"ids": made.notification_ids}).all()
        return [Sent(r.kind, Decimal(str(r.payload["cheaper_than"])) if "cheaper_than" in r.payload else None)
                for r in rows]
