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
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

USER_AGENT = "pricehound/0.1 (+https://github.com/pricehound/pricehound; price-alert crawler)"
FETCH_TIMEOUT = 10.0
MAX_FETCH_BYTES = 8_000_000


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


def fetch(url: str) -> FetchedPage:
    """One GET, following redirects; an error status (404, 410, 429, 503) still gives its page."""
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.5"})
    try:
        with urllib.request.urlopen(req, timeout=FETCH_TIMEOUT) as resp:  # noqa: S310 - http(s) only, checked
            body = resp.read(MAX_FETCH_BYTES)
            charset = resp.headers.get_content_charset()
            status, final = resp.status, resp.geturl()
    except urllib.error.HTTPError as exc:
        status, final = exc.code, exc.geturl() or url
        charset = exc.headers.get_content_charset() if exc.headers is not None else None
        try:
            body = exc.read(MAX_FETCH_BYTES) if exc.fp is not None else b""
        except OSError:
            body = b""
    return FetchedPage(body=body, charset=charset, status=status, final_url=final, redirected=final != url)


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
            got = fetch(page)
        except (urllib.error.URLError, OSError, ValueError) as exc:
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
        return 1
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
