import argparse
import http.server
import json
import subprocess
import sys
from pathlib import Path

import pytest

from spiders import cli
from tests.localhttp import base_url, http_server

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def _parser():
    parser = argparse.ArgumentParser(prog="pricehound")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.register(sub)
    return parser


def test_register_adds_extract_with_a_handler(capsys):
    args = _parser().parse_args(["extract", str(FIXTURES / "og_only.html"), "--currency", "USD"])
    assert callable(args.handler)
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["price"] == "10.95" and out["availability"] == "in_stock"


def test_missing_file_is_a_clear_error(capsys):
    args = _parser().parse_args(["extract", str(FIXTURES / "nope.html")])
    assert args.handler(args) == 1
    assert "cannot read" in capsys.readouterr().err


def test_unreachable_url_exits_1(capsys):
    args = _parser().parse_args(["extract", "http://127.0.0.1:9/nothing", "--local"])
    assert args.handler(args) == 1
    assert "cannot fetch" in capsys.readouterr().err


def test_manifest_prints_one_line_per_input_in_order_and_survives_bad_lines(tmp_path):
    (tmp_path / "a.html").write_bytes((FIXTURES / "sold_out.html").read_bytes())
    lines = [{"path": "a.html", "url": "https://x.example/a"}, {"path": "missing.html"},
             {"path": str(FIXTURES / "chile.html"), "url": "https://t.example.cl/x"}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    proc = subprocess.run([sys.executable, "-m", "spiders.cli", "extract", "--manifest", str(manifest)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [o["path"] for o in out[:3]] == ["a.html", "missing.html", str(FIXTURES / "chile.html")]
    assert out[0]["availability"] == "out_of_stock" and "error" in out[1] and out[2]["price"] == "229990"
    assert "error" in out[3]
    assert "done, 4 pages" in proc.stderr


# ---------------------------------------------------------------- what a crawl would record

def test_a_saved_page_prints_what_a_crawl_would_record(capsys):
    args = _parser().parse_args(["extract", str(FIXTURES / "sold_out.html"), "--url", "https://x.example/p/1"])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["observation"], out["reason"], out["page_kind"]) == ("ok", None, "product")
    assert out["rules"]["observation"] == "observe.product"
    assert {"price", "availability", "page_kind"} <= set(out["rules"])
    args = _parser().parse_args(["extract", str(FIXTURES / "category.html")])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["observation"], out["reason"], out["page_kind"], out["price"]) == ("removed", "listing", "gone", None)
    args = _parser().parse_args(["extract", str(FIXTURES / "challenge.html")])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["observation"] == "failed" and out["page_kind"] == "challenge" and out["reason"] == out["page_reason"]


class _Shop(http.server.BaseHTTPRequestHandler):
    """A product, a removed product (404), one redirected home, and a maintenance page (200)."""

    def do_GET(self):  # noqa: N802 - the http.server API
        if self.path == "/p/kettle":
            self._send(200, (FIXTURES / "sold_out.html").read_bytes())
        elif self.path == "/p/old":
            self._send(404, b"<html><body><h1>Not found</h1></body></html>")
        elif self.path == "/p/gone":
            self.send_response(302)
            self.send_header("Location", "/")
            self.end_headers()
        elif self.path == "/":
            self._send(200, (FIXTURES / "category.html").read_bytes())
        else:
            self._send(200, b"<html><head><title>We'll be back soon</title></head><body><h1>Down for maintenance"
                            b"</h1><p>Our shop is undergoing scheduled maintenance.</p></body></html>")

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def shop():
    with http_server(_Shop) as server:
        yield base_url(server)


@pytest.mark.parametrize(("path", "observation", "reason"), [
    ("/p/kettle", "ok", None),
    ("/p/old", "removed", "http_404"),
    ("/p/gone", "removed", "redirect_home"),
    ("/p/closed", "failed", "maintenance"),
])
def test_a_url_prints_what_a_crawl_would_record(shop, capsys, path, observation, reason):
    args = _parser().parse_args(["extract", shop + path, "--local"])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["observation"], out["reason"]) == (observation, reason), out


def test_manifest_lines_print_what_a_crawl_would_record_with_their_status_and_final_url(tmp_path):
    lines = [{"path": str(FIXTURES / "sold_out.html"), "url": "https://x.example/p/1"},
             {"path": str(FIXTURES / "category.html"), "url": "https://x.example/p/2",
              "final_url": "https://x.example/", "status": 200},
             {"path": str(FIXTURES / "sold_out.html"), "url": "https://x.example/p/3", "status": 410}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    proc = subprocess.run([sys.executable, "-m", "spiders.cli", "extract", "--manifest", str(manifest)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [(o["observation"], o["reason"]) for o in out] == [
        ("ok", None), ("removed", "redirect_home"), ("removed", "http_410")]
    assert all("rules" in o and "observation" in o["rules"] for o in out)
