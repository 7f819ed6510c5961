"""/sns/ses-events: where Amazon SNS posts SES bounce and complaint notifications directly.

The handler is the alert stage's (``alerts.bounces.handle_sns_http``): it verifies the SNS
signature against Amazon's certificate before anything is believed, confirms subscriptions,
and suppresses addresses that bounced for good or complained. The same handler serves the SQS
path that beat polls, so the two ways in cannot disagree.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

router = APIRouter(tags=["email events"])

MAX_SNS_BODY = 256 * 1024  # SNS messages are at most 256 KB


@router.post("/sns/ses-events", summary="SNS endpoint for SES bounces and complaints",
             responses={200: {"description": "handled"}, 400: {"description": "not an SNS message"},
                        403: {"description": "signature refused"}, 413: {"description": "too large"}})
async def ses_events(request: Request) -> PlainTextResponse:
    body = await body_up_to(request, MAX_SNS_BODY)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    from alerts.bounces import handle_sns_http

    status, text = await run_in_threadpool(handle_sns_http, body)
    return PlainTextResponse(text, status_code=status)


async def body_up_to(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be over ``limit`` bytes.

    A declared Content-Length over the limit is refused before anything is read; a body sent
    without one (chunked) is read only until it passes the limit, never held whole.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
