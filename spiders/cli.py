"""`pricehound extract`: run the extraction chain on saved pages or one live URL.

    pricehound extract PAGE [--url URL] [--currency CUR]
    pricehound extract --manifest FILE.jsonl
    python -m spiders.cli extract ...

Each page prints what a crawl would record for it (spiders.observe.decide, the function the
spider calls): `observation` ok | removed | failed, its `reason`, and `rules`, the rule that
decided each field, beside the fields read.  A saved page is taken as served with status 200
at its --url (or the manifest line's "url"; a "status" and "final_url" there are used too).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from pricehound import urls

FETCH_TIMEOUT = 10.0
MAX_FETCH_BYTES = 8_000_000
MAX_REDIRECTS = 10


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "extract",
        help="read price, availability and identity from a saved product page (or a live URL)",
        description="Print one JSON object per page: name, price, currency, availability, "
                    "regular_price, sku, gtin, source, page_kind, page_reason, and what a crawl "
                    "would record: observation (ok, removed, failed), reason, and rules (the rule "
                    "that decided each field).",
    )
    p.add_argument("page", nargs="?", help="an HTML file, or an http(s) URL to fetch live")
    p.add_argument("--url", help="the page's URL (helps with currency and variant choice)")
    p.add_argument("--currency", help="the store's default currency (ISO 4217)")
    p.add_argument("--manifest", help="a JSONL file of {\"path\": ..., \"url\": ...} lines")
    p.add_argument("--encoding", help="force a character encoding for saved pages")
    p.add_argument("--page-kind", action="store_true", help="also print the chain's notes")
    p.add_argument("--local", action="store_true",
                   help="allow a private or loopback address, as for a store added with --local "
                        "(only while PRICEHOUND_ALLOW_LOCAL_STORES is on)")
    p.set_defaults(handler=run_extract)
    return p


def _result(extraction, with_kind: bool, *, status: int | None = 200, url: str | None = None,
            final_url: str | None = None, redirected: bool = False) -> dict:
    """The printed object: the fields read, then what a crawl records for this page."""
    from .observe import decide

    verdict = decide(status, url, final_url or url, redirected, extraction)
    out = extraction.to_json()
    out["observation"] = verdict.kind
    out["reason"] = verdict.reason
    out["rules"] = {"observation": verdict.rules[0], **out["rules"]}
    if with_kind:
        out["notes"] = list(extraction.notes)
    return out


@dataclass(frozen=True)
class FetchedPage:
    body: bytes
    charset: str | None
    status: int
    final_url: str
    redirected: bool


class _Pinned:
    """Connects to the address the guard approved, not to a fresh DNS answer (no rebinding
    between the check and the connection); TLS still verifies the certificate for the host."""

    def __init__(self, address: str) -> None:
        self.address = address

    def http(self, host, **kw):
        conn = http.client.HTTPConnection(host, **kw)
        conn._create_connection = self._connect  # type: ignore[attr-defined]
        return conn

    def https(self, host, **kw):
        conn = http.client.HTTPSConnection(host, context=ssl.create_default_context(), **kw)
        conn._create_connection = self._connect  # type: ignore[attr-defined]
        return conn

    def _connect(self, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
        return socket.create_connection((self.address, address[1]), timeout, source_address)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by fetch() itself, each hop through the guard."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _one_hop(url: str, address: str, user_agent: str):
    pinned = _Pinned(address)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(pinned.http, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(pinned.https, req)

    opener = urllib.request.build_opener(Http, Https, _NoRedirects)
    req = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "text/html,*/*;q=0.5"})
    return opener.open(req, timeout=FETCH_TIMEOUT)


def fetch(url: str, *, allow_private: bool = False) -> FetchedPage:
    """One GET through the crawl's rules, following redirects; an error status (404, 410, 429,
    503) still gives its page. Every hop must be http(s) and resolve to public addresses (unless
    ``allow_private``), is connected to the very address checked, and carries the crawl's
    User-Agent; a refused hop raises ``urls.UnsafeURL``."""
    from pricehound.config import get_settings

    user_agent = get_settings().crawler_user_agent
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        address = urls.check_fetchable(current, allow_private=allow_private)[0]
        try:
            resp = _one_hop(current, address, user_agent)
        except urllib.error.HTTPError as exc:
            resp = exc
        with resp:
            status = resp.status if hasattr(resp, "status") else resp.code
            location = resp.headers.get("Location") if resp.headers is not None else None
            if status in (301, 302, 303, 307, 308) and location:
                current = urllib.parse.urljoin(current, location)
                continue
            charset = resp.headers.get_content_charset() if resp.headers is not None else None
            try:
                body = resp.read(MAX_FETCH_BYTES) if getattr(resp, "fp", True) is not None else b""
            except OSError:
                body = b""
        return FetchedPage(body=body, charset=charset, status=status, final_url=current, redirected=current != url)
    raise urls.UnsafeURL(f"more than {MAX_REDIRECTS} redirects")


def run_extract(args) -> int:
    from .extraction import extract_product

    with_kind = bool(getattr(args, "page_kind", False))
    currency = getattr(args, "currency", None)
    if getattr(args, "manifest", None):
        return _run_manifest(args.manifest, currency, with_kind, getattr(args, "encoding", None))
    page = getattr(args, "page", None)
    if not page:
        print("pricehound extract: give a PAGE (file or URL) or --manifest FILE", file=sys.stderr)
        return 2
    if page.startswith(("http://", "https://")):
        try:
            got = fetch(page, allow_private=_local_allowed(args))
        except urls.UnsafeURL as exc:
            print(f"pricehound extract: refusing {page}: {exc}", file=sys.stderr)
            return 2
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            print(f"pricehound extract: cannot fetch {page}: {exc}", file=sys.stderr)
            return 1
        ex = extract_product(got.body, got.final_url, default_currency=currency,
                             encoding=getattr(args, "encoding", None) or got.charset)
        out = _result(ex, with_kind, status=got.status, url=args.url or page, final_url=got.final_url,
                      redirected=got.redirected)
        print(json.dumps(out, ensure_ascii=False))
        return 0
    elif page.startswith(("ftp://", "file://", "data:")):
        print(f"pricehound extract: only http(s) URLs are fetched: {page}", file=sys.stderr)
        return 2
    else:
        try:
            with open(page, "rb") as fh:
                body = fh.read()
        except OSError as exc:
            print(f"pricehound extract: cannot read {page}: {exc}", file=sys.stderr)
            return 1
        ex = extract_product(body, args.url, default_currency=currency, encoding=getattr(args, "encoding", None))
    print(json.dumps(_result(ex, with_kind, url=args.url), ensure_ascii=False))
    return 0


def _local_allowed(args) -> bool:
    """--local lifts the address rules only where local stores are allowed at all."""
    if not getattr(args, "local", False):
        return False
    from pricehound.config import get_settings

    if not get_settings().allow_local_stores:
        raise urls.UnsafeURL("--local is off here: PRICEHOUND_ALLOW_LOCAL_STORES is false")
    return True


def _run_manifest(manifest: str, currency: str | None, with_kind: bool, encoding: str | None) -> int:
    from .extraction import extract_product

    try:
        fh = open(manifest, encoding="utf-8")
    except OSError as exc:
        print(f"pricehound extract: cannot read manifest {manifest}: {exc}", file=sys.stderr)
        return 1
    base = os.path.dirname(os.path.abspath(manifest))
    done = errors = 0
    started = time.perf_counter()
    with fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            path = None
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("line is not a JSON object")
                path = item.get("path")
                if not path or not isinstance(path, str):
                    raise ValueError("no path")
                full = path if os.path.isabs(path) else os.path.join(base, path)
                with open(full, "rb") as pf:
                    body = pf.read()
                final_url = item.get("final_url") or item.get("url")
                ex = extract_product(body, final_url, default_currency=item.get("currency") or currency,
                                     encoding=item.get("encoding") or encoding)
                status = item.get("status", 200)
                if status is not None and not isinstance(status, int):
                    raise ValueError("status is not an integer")
                out = {"path": path, **_result(ex, with_kind, status=status, url=item.get("url"),
                                               final_url=final_url,
                                               redirected=bool(item.get("final_url"))
                                               and item.get("final_url") != item.get("url"))}
            except (OSError, ValueError) as exc:
                errors += 1
                out = {"path": path if path is not None else f"<line {lineno}>", "error": str(exc)}
            print(json.dumps(out, ensure_ascii=False), flush=False)
            done += 1
            if done % 50 == 0:
                print(f"extract: {done} pages, {errors} errors, {time.perf_counter() - started:.1f}s",
                      file=sys.stderr)
    sys.stdout.flush()
    elapsed = time.perf_counter() - started
    per = (elapsed / done * 1000) if done else 0.0
    print(f"extract: done, {done} pages, {errors} errors, {elapsed:.2f}s ({per:.1f} ms/page)", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pricehound")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
