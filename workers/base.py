"""The base of every pricehound task: enqueue only after the current transaction commits.

    with db.transaction() as conn:
        run_id = create_run(conn, ...)
        run_store_crawl.enqueue(run_id)      # sent when the transaction has committed

``enqueue`` is ``apply_async`` deferred through ``pricehound.db.after_commit``: inside
``db.transaction()`` the message leaves once the rows it names are visible to every worker, and
never if the transaction rolls back; outside one it is sent at once. Work enqueued by name (the
outbox, the crawl's hand-off) goes through ``enqueue_by_name``, the same way.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from pricehound.db import after_commit


class PricehoundTask(Task):
    """celery.Task with ``enqueue``: apply_async once the current transaction commits."""

    def enqueue(self, *args: Any, **options: Any) -> None:
        after_commit(lambda: self.apply_async(args=args, **options))


def enqueue_by_name(name: str, args: list | tuple = (), **options: Any) -> None:
    """``app.send_task(name, args)`` once the current transaction commits."""
    from workers import app

    after_commit(lambda: app.send_task(name, args=list(args), **options))
