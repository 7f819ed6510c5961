"""Header and template injection through what stores and users control: product titles, store
names, user names. The real templates render, the real MIME builder builds, and the message is
parsed back as a mail client would read it."""

from __future__ import annotations

import email
import re
from decimal import Decimal
from email import policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from alerts import mime, render

ALERT_KINDS = ["price_drop", "price_rise", "sold_out", "back_in_stock", "removed", "target_reached",
               "new_low", "cheapest_store"]
EXPECTED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
                    "List-Unsubscribe-Post", "MIME-Version", "Content-Type"}

HEADER_ATTACKS = [
    "Widget\r\nBcc: victim@evil.example",
    "Widget\nBcc: victim@evil.example",
    "Widget\rBcc: victim@evil.example",
    "Widget\r\n\r\n<html>injected body</html>",
    "Widget\u2028Bcc: victim@evil.example",
    "Widget\x85Bcc: victim@evil.example",
    "Widget\x00\r\nX-Injected: 1",
    "Widget%0d%0aBcc: victim@evil.example",
    "Widget\r\n Bcc: folded@evil.example",
    "Widget\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>",
]
TEMPLATE_ATTACKS = ["{{ 7*7 }}", "{% for x in range(3) %}LOOP{% endfor %}", "{{ config }}",
                    "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{# comment #}", "{% raw %}x{% endraw %}",
                    "${7*7}", "<%= 7*7 %>", "{{ a.title }}"]
HTML_ATTACKS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>",
                "javascript:alert(1)", "</title><script>alert(1)</script>", "<a href='//evil.example'>x</a>"]


def alert(kind: str, title: str, store: str) -> dict:
    return {
        "kind": kind, "title": title, "store": store, "url": "https://shop.example/p/1",
        "currency": "USD", "old_price": Decimal("20.00"), "new_price": Decimal("15.00"),
        "target_price": Decimal("16.00"), "percent": Decimal("25.0"), "old_availability": "in_stock",
        "new_availability": "out_of_stock", "lowest_30d": Decimal("14.00"), "lowest_90d": None,
        "unsubscribe_url": "https://pricehound.example/u/tok",
    }


def build(alerts: list[dict], user_name: str | None = "Ann") -> tuple[render.Rendered, email.message.EmailMessage]:
    common = {"user_name": user_name, "public_url": "https://pricehound.example",
              "manage_url": "https://pricehound.example/m/tok", "unsubscribe_all_url": "https://pricehound.example/u/all"}
    rendered = render.render_alerts(alerts, common)
    raw = mime.build(mime.Envelope(
        sender="pricehound <alerts@pricehound.example>", to_email="ann@example.com", to_name=user_name,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        list_unsubscribe="https://pricehound.example/u/all"))
    return rendered, email.message_from_bytes(raw, policy=policy.default)


def header_block(msg: email.message.EmailMessage) -> set[str]:
    return set(msg.keys())


def bodies(msg: email.message.EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html_body = msg.get_body(preferencelist=("html",)).get_content()
    return text, html_body


def assert_no_injection(msg: email.message.EmailMessage) -> None:
    assert header_block(msg) <= EXPECTED_HEADERS, header_block(msg) - EXPECTED_HEADERS
    assert msg["Bcc"] is None and msg["Cc"] is None and msg["X-Injected"] is None
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])
    assert [a.addr_spec for a in msg["To"].addresses] == ["ann@example.com"]
    assert len(msg.get_payload()) == 2  # text and HTML only: no part smuggled in


@pytest.mark.parametrize("kind", ALERT_KINDS)
@pytest.mark.parametrize("attack", HEADER_ATTACKS)
def test_crlf_in_titles_and_store_names_adds_no_header(kind, attack):
    _rendered, msg = build([alert(kind, attack, attack)], user_name=attack)
    assert_no_injection(msg)


@pytest.mark.parametrize("attack", HEADER_ATTACKS)
def test_crlf_in_the_digest_subject_adds_no_header(attack):
    _rendered, msg = build([alert("price_drop", attack, "Shop"), alert("sold_out", "Other", attack)])
    assert_no_injection(msg)


ENCODED_WORD_ATTACK = "=?utf-8?q?Widget=0D=0ABcc:_victim@evil.example?="


def test_an_encoded_word_in_a_product_title_adds_no_header():
    _rendered, msg = build([alert("price_drop", ENCODED_WORD_ATTACK, "Shop")])
    assert_no_injection(msg)
    assert ENCODED_WORD_ATTACK in str(msg["Subject"])  # shown as the literal text it was


def test_an_encoded_word_in_a_user_name_still_builds_a_clean_message():
    _rendered, msg = build([alert("price_drop", "Widget", "Shop")], user_name=ENCODED_WORD_ATTACK)
    assert_no_injection(msg)


@pytest.mark.parametrize("kind", ALERT_KINDS)
@pytest.mark.parametrize("attack", TEMPLATE_ATTACKS)
def test_template_syntax_in_titles_is_printed_not_evaluated(kind, attack):
    rendered, msg = build([alert(kind, f"A {attack} B", f"S {attack} T")])
    text, html_body = bodies(msg)
    assert "LOOPLOOP" not in text + html_body
    assert "<class" not in text and "&lt;class" not in html_body
    # the literal text is shown as written (HTML-escaped in the HTML part)
    assert f"A {attack} B" in text or f"A {attack} B" in rendered.subject
    assert str(escape(f"A {attack} B")) in html_body


def test_arithmetic_in_a_title_is_not_computed():
    rendered, msg = build([alert("price_drop", "{{ 7*7 }}", "{{ 6*7 }}")])
    text, html_body = bodies(msg)
    for part in (rendered.subject, text, html_body):
        assert "{{ 7*7 }}" in part
        assert not re.search(r"\b49\b|\b42\b", part)


@pytest.mark.parametrize("kind", ALERT_KINDS)
@pytest.mark.parametrize("attack", HTML_ATTACKS)
def test_markup_in_titles_is_escaped_in_the_html_part(kind, attack):
    rendered, msg = build([alert(kind, attack, attack)], user_name=attack)
    _text, html_body = bodies(msg)
    assert "<script>" not in html_body and "<svg" not in html_body and "<img src=x" not in html_body
    assert "<a href='//evil" not in html_body
    assert str(escape(attack)) in html_body  # shown as text


@settings(deadline=None, derandomize=True, database=None, max_examples=80,
          suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(max_size=300), store=st.text(max_size=60), user=st.one_of(st.none(), st.text(max_size=60)),
       kind=st.sampled_from(ALERT_KINDS))
def test_any_title_store_or_user_name_builds_a_clean_message(title, store, user, kind):
    rendered, msg = build([alert(kind, title, store)], user_name=user)
    assert_no_injection(msg)
    _text, html_body = bodies(msg)
    if title.isprintable() and title == " ".join(title.split()):  # the MIME layer re-wraps whitespace
        assert str(escape(title)) in html_body


def test_header_safe_makes_one_line_of_anything():
    hostile = "a\r\nb\rc\nd\x00e\u2028f\u2029g\x85h\x1bi" + "x" * 1000
    safe = mime.header_safe(hostile, 180)
    assert len(safe) <= 180 and not re.search(r"[\x00-\x1f\x7f\u2028\u2029\x85]", safe)


DIRECTION_ATTACKS = ["Kettle \u202egpj.exe", "\u2067Widget\u2069 sale", "\u200fPrice\u200e drop \u061c",
                     "\u202aA\u202bB\u202cC\u202dD\u2066E\u2068F"]
DIRECTION_CHARS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@pytest.mark.parametrize("title", DIRECTION_ATTACKS)
def test_direction_controls_never_reach_a_subject_or_any_header(title):
    rendered, msg = build([alert("price_drop", title, title)], user_name=title)
    assert not DIRECTION_CHARS & set(rendered.subject)
    for name, value in msg.items():
        assert not DIRECTION_CHARS & set(str(value)), name
    assert_no_injection(msg)


def test_direction_controls_never_reach_a_transactional_subject():
    rendered = render.render_transactional("verify", {"user_name": None, "public_url": "http://x",
                                                      "link": "http://x/verify?token=t",
                                                      "partner": "Acme\u202e moc.evil", "product_url": "http://x/p"})
    assert not DIRECTION_CHARS & set(rendered.subject)
