import argparse
import json
import subprocess
import sys
from pathlib import Path

from spiders import cli

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
    args = _parser().parse_args(["extract", "http://127.0.0.1:9/nothing"])
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
