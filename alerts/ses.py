"""SES v2 through boto3: one client per process, and the account's send rate.

Creating a boto3 client costs milliseconds and a credentials lookup; a worker sends thousands
of mails, so it builds one client (clients are thread-safe) and keeps it. A forked child gets
its own because the cache is keyed by pid.
"""

from __future__ import annotations

import functools
import logging
import os
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pricehound.config import Settings, get_settings

log = logging.getLogger("pricehound.alerts.ses")

# SES's sandbox rate: the safe assumption when the account cannot tell us its own.
FALLBACK_SEND_RATE = Decimal(1)

# Error codes worth retrying: SES is busy, or the request never got a real answer.
TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
    "ServiceUnavailableException", "InternalFailure", "InternalServerError", "RequestTimeout",
    "RequestTimeoutException", "LimitExceededException",
})


def _client_config() -> Config:
    # Our own backoff (the task's retry) decides when to try again, so botocore retries little.
    return Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=20,
                  max_pool_connections=20)


@functools.lru_cache(maxsize=4)
def _client(service: str, region: str, endpoint_url: str | None, pid: int) -> Any:
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url,
                                          config=_client_config())


def client(settings: Settings | None = None) -> Any:
    """The process's sesv2 client."""
    settings = settings or get_settings()
    return _client("sesv2", settings.ses_region, settings.ses_endpoint_url, os.getpid())


def reset() -> None:
    """Forget cached clients and rates (tests switch AWS stand-ins between cases)."""
    _client.cache_clear()
    max_send_rate.cache_clear()


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError | ConnectionError | TimeoutError)


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}"[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def send_raw(raw: bytes, settings: Settings | None = None) -> str:
    """Hand one MIME message to SES; returns SES's MessageId. Raises ClientError/BotoCoreError."""
    settings = settings or get_settings()
    params: dict[str, Any] = {"FromEmailAddress": settings.ses_sender, "Content": {"Raw": {"Data": raw}}}
    if settings.ses_configuration_set:
        params["ConfigurationSetName"] = settings.ses_configuration_set
    return str(client(settings).send_email(**params)["MessageId"])


@functools.lru_cache(maxsize=4)
def _account_rate(region: str, endpoint_url: str | None) -> Decimal:
    settings = get_settings()
    try:
        quota = client(settings).get_account()["SendQuota"]
        return Decimal(str(quota["MaxSendRate"]))
    except (ClientError, BotoCoreError, KeyError, NotImplementedError) as exc:
        log.warning("SES GetAccount failed (%s); trying the v1 send quota", error_text(exc))
    try:
        v1 = _client("ses", region, endpoint_url, os.getpid())
        return Decimal(str(v1.get_send_quota()["MaxSendRate"]))
    except (ClientError, BotoCoreError, KeyError, NotImplementedError) as exc:
        log.warning("SES send quota unknown (%s); assuming %s/s", error_text(exc), FALLBACK_SEND_RATE)
        return FALLBACK_SEND_RATE


@functools.lru_cache(maxsize=4)
def max_send_rate(settings: Settings | None = None) -> Decimal:
    """Emails per second for the whole cluster: PRICEHOUND_SES_MAX_SEND_RATE, else the account's."""
    settings = settings or get_settings()
    if settings.ses_max_send_rate is not None and settings.ses_max_send_rate > 0:
        return settings.ses_max_send_rate
    return _account_rate(settings.ses_region, settings.ses_endpoint_url)
