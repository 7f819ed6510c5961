"""/admin: the operator's page, for users marked admin (`pricehound users add --admin`).

What `pricehound status` and the metrics show, on one server-rendered page: stores with their
circuit breaker, held runs and disputes, recent runs, failures by reason, queue depths and
email outcomes. Its forms pause and resume a store and release or discard a held run, through
the same functions as `pricehound stores pause|resume` and `pricehound runs release|discard`.

Same rules as the manage page: a session cookie, a CSRF token on every form, the page CSP (no
inline script or style). Signed out, /admin sends to the sign-in page; signed in without the
admin flag, it answers 404 as for any unknown page: nothing tells a user the page exists.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from pricehound import catalog, operators
from pricehound import metrics as figures
from pricehound import status as store_status
from web import security
from web.deps import MAX_ID, app_state, optional_user
from web.pages import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("pricehound.web.admin")

RECENT_RUNS = 20
MESSAGES = {
    "paused": "Store paused: no crawl is dispatched until it is resumed.",
    "resumed": "Store resumed.",
    "released": "Held run released: its readings were applied and handed to the alerts.",
    "discarded": "Held run discarded: its readings were dropped.",
}

StoreSlug = Annotated[str, Path(pattern=catalog.SLUG_RE.pattern, max_length=63)]
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]

RECENT_RUNS_SQL = sa.text(
    """
    SELECT r.id, s.slug AS store, r.status, r.requested, r.ok, r.changed, r.removed, r.failed, r.dropped,
           r.held_state, r.queued_at, r.finished_at, left(r.error, 200) AS error,
           extract(epoch FROM r.finished_at - coalesce(r.started_at, r.queued_at)) AS seconds
      FROM crawl_runs r JOIN stores s ON s.id = r.store_id
     ORDER BY r.id DESC
     LIMIT :limit
    """
)


def _is_admin(request: Request, user: security.SessionUser) -> bool:
    with app_state(request).engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT is_admin FROM users WHERE id = :id AND status = 'active'"),
                                 {"id": user.user_id}).scalar())


def _admin(request: Request) -> security.SessionUser | Response:
    """The signed-in admin, or the response for anyone else (sign-in redirect, or 404)."""
    user = optional_user(request)
    if user is None:
        return RedirectResponse("/signin?next=/admin", status_code=303)
    if not _is_admin(request, user):
        raise HTTPException(404, "Not Found")
    return user


def _form_admin(request: Request, csrf_token: str) -> security.SessionUser | Response:
    security.check_csrf(request, app_state(request).settings, csrf_token)
    return _admin(request)


def _page(request: Request, user: security.SessionUser, *, msg: str = "", error: str | None = None,
          status_code: int = 200) -> Response:
    from alerts import disputes
    from pipelines import held

    state = app_state(request)
    with state.engine.connect() as conn:
        stores, now = store_status.store_schedule(conn)
        held_runs = held.held_runs(conn)
        disputed = disputes.per_store(conn)
        recent = [dict(r._mapping) for r in conn.execute(RECENT_RUNS_SQL, {"limit": RECENT_RUNS})]
        paused_reasons = dict(conn.execute(sa.text(
            "SELECT slug, paused_reason FROM stores WHERE paused_at IS NOT NULL")).all())
    # the figures /metrics serves (one statement, one Redis pipeline): reasons, emails, queues
    snap = figures.snapshot(state.engine, state.redis)
    failures: list[dict[str, Any]] = []
    for key, n in sorted(snap.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        outcome, _, reason = key.removeprefix("pricehound/").partition("/")
        if outcome in ("failed", "removed"):
            failures.append({"outcome": outcome, "reason": reason, "count": int(n)})
    emails = {**snap.open_notifications, **snap.done_notifications}
    return render(request, "admin.html", {
        "user": user, "stores": stores, "now": now, "age": store_status._age,  # noqa: SLF001 - one wording
        "held_runs": held_runs, "disputes": disputed, "recent": recent, "failures": failures,
        "queues": snap.queues if snap.redis_up else None, "heartbeat_age": snap.heartbeat_age,
        "emails": {k: int(emails.get(k, 0)) for k in ("pending", "sending", "sent", "failed", "suppressed")},
        "paused_reasons": paused_reasons, "message": MESSAGES.get(msg), "error": error,
    }, status_code=status_code)


@router.get("/admin")
def admin(request: Request, msg: str = Query("", max_length=32)) -> Response:
    who = _admin(request)
    if isinstance(who, Response):
        return who
    return _page(request, who, msg=msg)


def _done(msg: str) -> Response:
    return RedirectResponse(f"/admin?msg={msg}", status_code=303)


def _act(request: Request, csrf_token: str, action: Any, msg: str) -> Response:
    """Check CSRF and the admin, run ``action(conn)`` in one transaction, go back to the page."""
    who = _form_admin(request, csrf_token)
    if isinstance(who, Response):
        return who
    try:
        with app_state(request).engine.begin() as conn:
            after = action(conn)
    except catalog.InputError as exc:
        return _page(request, who, error=str(exc), status_code=422)
    if callable(after):
        after()
    log.info("admin %s: %s", who.email, msg)
    return _done(msg)


@router.post("/admin/stores/{slug}/pause")
def pause_store(request: Request, slug: StoreSlug, csrf_token: str = Form("", max_length=128),
                reason: str = Form("", max_length=200)) -> Response:
    return _act(request, csrf_token, lambda conn: operators.pause_store(conn, slug, reason or None) and None,
                "paused")


@router.post("/admin/stores/{slug}/resume")
def resume_store(request: Request, slug: StoreSlug, csrf_token: str = Form("", max_length=128)) -> Response:
    return _act(request, csrf_token, lambda conn: operators.resume_store(conn, slug) and None, "resumed")


def _not_held(exc: Exception) -> catalog.InputError:
    return catalog.InputError(str(exc).replace("`pricehound runs held` lists", "the list below shows"))


@router.post("/admin/runs/{run_id}/release")
def release_run(request: Request, run_id: RunId, csrf_token: str = Form("", max_length=128)) -> Response:
    from pipelines import handoff, held

    def action(conn: Any) -> Any:
        try:
            events = held.release(conn, run_id)
        except held.NotHeld as exc:
            raise _not_held(exc) from None
        # handed to the alerts only after the commit, as `pricehound runs release` does
        return lambda: handoff.publish_events(events, app_state(request).settings.alert_task)

    return _act(request, csrf_token, action, "released")


@router.post("/admin/runs/{run_id}/discard")
def discard_run(request: Request, run_id: RunId, csrf_token: str = Form("", max_length=128)) -> Response:
    from pipelines import held

    def action(conn: Any) -> None:
        try:
            held.discard(conn, run_id)
        except held.NotHeld as exc:
            raise _not_held(exc) from None

    return _act(request, csrf_token, action, "discarded")
