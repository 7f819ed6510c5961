"""DNS rebinding: spiders.resolver.GuardedResolver applies the address rules at connect time.

The crawl runs in its own process with a real Twisted reactor (hostile_resolver_crawl.py) against
a local server; its DNS answers come from a table, and its sockets may only reach 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spiders.resolver import refusal

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("resolver") / "out.json"
    done = subprocess.run([sys.executable, str(HERE / "hostile_resolver_crawl.py"), str(out)],
                          capture_output=True, text=True, timeout=120, cwd=HERE.parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_a_name_that_flips_to_private_after_the_check_is_refused_at_connect(crawl):
    assert crawl["preflight"] == ["93.184.216.34"], "the pre-flight check saw a public answer"
    assert "error" in crawl["rebind"] and "lookup" in crawl["rebind"]["message"].lower()
    assert not any(path.endswith("/p") for path in crawl["served"])
    assert "resolves to 127.0.0.1" in crawl["refusals"][f"rebind.test:{crawl['port']}"]


@pytest.mark.slow
def test_an_allowed_local_host_still_connects(crawl):
    assert crawl["allowed_local"]["status"] == 200
    assert f"shop.local:{crawl['port']}/ok" in crawl["served"]


@pytest.mark.slow
def test_the_allowance_is_for_the_listed_port_only(crawl):
    assert "error" in crawl["allowed_host_other_port"]


@pytest.mark.slow
def test_ip_literals_and_mixed_answers_are_refused_at_connect(crawl):
    assert "error" in crawl["literal_not_allowed"] and "error" in crawl["mixed"]
    assert not any(path.endswith(("/literal", "/mixed")) for path in crawl["served"])


@pytest.mark.slow
def test_a_redirect_from_an_allowed_host_to_a_private_name_is_refused_at_connect(crawl):
    assert f"shop.local:{crawl['port']}/redirect" in crawl["served"]
    assert "error" in crawl["redirect_to_private"]
    assert not any(path.endswith("/secret") for path in crawl["served"])


@pytest.mark.slow
def test_no_socket_was_opened_to_anything_but_loopback(crawl):
    assert set(crawl["attempted"]) <= {"127.0.0.1", "::1"}


@pytest.mark.parametrize(("host", "port", "addresses", "allowed"), [
    ("shop.example", 443, ["93.184.216.34"], True),
    ("shop.example", 443, ["93.184.216.34", "2606:2800:220:1::1"], True),
    ("shop.example", 443, ["93.184.216.34", "10.0.0.1"], False),
    ("shop.example", 443, ["::ffff:127.0.0.1"], False),
    ("shop.example", 443, ["fe80::1%eth0"], False),
    ("shop.example", 443, ["169.254.169.254"], False),
    ("shop.example", 443, [], False),
    ("shop.example", 443, ["garbage"], False),
    ("demo.local", 8101, ["127.0.0.1"], True),
    ("sub.demo.local", 9999, ["10.0.0.1"], True),
    ("127.0.0.1", 8101, ["127.0.0.1"], True),
    ("127.0.0.1", 8102, ["127.0.0.1"], False),
    ("shop%2eexample", 443, ["93.184.216.34"], False),
])
def test_refusal_rules(host, port, addresses, allowed):
    assert (refusal(host, port, addresses, ["demo.local", "127.0.0.1:8101"]) is None) is allowed
