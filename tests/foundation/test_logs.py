"""One line per event, in one format, whatever logs it: pricehound.logs for the CLI, workers,
beat, crawls and (through uvicorn's log_config) the HTTP service."""

from __future__ import annotations

import json
import logging
import logging.config
import subprocess
import sys
import warnings

import pytest

from pricehound import logs


def _record(message: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("pricehound.test", logging.WARNING, __file__, 1, message, None, exc_info)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_multi_line_message_with_a_traceback_is_one_line(fmt):
    line = logs.formatter(fmt).format(_record("first\nsecond", exc=True))
    assert "\n" not in line
    if fmt == "json":
        entry = json.loads(line)
        assert (entry["level"], entry["logger"], entry["message"]) == ("WARNING", "pricehound.test", "first\nsecond")
        assert "ValueError: bad\nthing" in entry["exc"]
    else:
        assert " WARNING pricehound.test: first\\nsecond\\nTraceback" in line


def test_every_line_a_command_logs_is_json_when_asked(run_cli):
    """A failing command's traceback (logged at debug) stays one JSON object; the one line it
    says to the person at the terminal is its own, not a log event."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    done = run_cli("-v", "status", extra_env={"PRICEHOUND_LOG_FORMAT": "json",
                                              "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{dead}/none"})
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines if not line.startswith("pricehound: ")]
    assert len(events) == len(lines) - 1, done.stderr
    assert any("Traceback" in e.get("exc", "") for e in events)
    for entry in events:
        assert set(entry) >= {"time", "level", "logger", "message"}, entry


def test_warnings_are_logged_as_one_line(capsys):
    # an earlier test in this process may have captured warnings under pytest's own
    # catch_warnings, which restored showwarning behind logging's back: start from released
    logging.captureWarnings(False)
    logs.configure("INFO", "text")
    # the one handler may have been made by an earlier test, on a stderr captured then
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_pricehound", False))
    before, handler.stream = handler.stream, sys.stderr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("line one\nline two", UserWarning, stacklevel=1)
        err = [line for line in capsys.readouterr().err.splitlines() if "line one" in line]
        assert len(err) == 1 and "py.warnings" in err[0] and "line two" in err[0]
    finally:
        handler.stream = before
        logging.captureWarnings(False)


def test_uvicorn_logs_through_the_same_formatter():
    code = ("import logging, logging.config; from pricehound import logs; "
            "logging.config.dictConfig(logs.uvicorn_config('INFO', 'json')); "
            "logging.getLogger('uvicorn.error').info('Started server\\nprocess'); "
            "logging.getLogger('uvicorn.access').info('GET /healthz 200')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    assert [json.loads(line)["logger"] for line in lines] == ["uvicorn.error", "uvicorn.access"], done.stderr


def test_a_bad_log_format_is_refused():
    from pricehound.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="text or json"):
        Settings.from_env({"PRICEHOUND_LOG_FORMAT": "xml"})


def test_scrapy_s_own_handler_writes_one_line_per_event():
    """Under `scrapy crawl` Scrapy installs the root handler; the extension (loaded as the crawler
    is built) gives it our format for everything logged from then on."""
    code = ("import logging; from scrapy.utils.log import configure_logging; "
            "from scrapy.settings import Settings; "
            "from spiders import settings as base; s = Settings(); s.setmodule(base); "
            "configure_logging(s); from spiders.logformat import OneLineLogs; "
            "assert 'spiders.logformat.OneLineLogs' in s.getdict('EXTENSIONS'); "
            "OneLineLogs.from_crawler(None); "
            "log = logging.getLogger('scrapy.core.scraper')\n"
            "try:\n    raise ValueError('bad')\nexcept ValueError:\n    log.exception('Spider error\\nprocessing')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "PRICEHOUND_LOG_FORMAT": "json"})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["logger"] for line in lines), done.stderr
    assert any("ValueError: bad" in json.loads(line).get("exc", "") for line in lines)
