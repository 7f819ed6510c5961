"""`pricehound extract`: run the extraction chain on saved pages or one live URL.

    pricehound extract PAGE [--url URL] [--currency CUR]
    pricehound extract --manifest FILE.jsonl
    python -m spiders.cli extract ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

USER_AGENT = "pricehound/0.1 (+https://github.com/pricehound/pricehound; price-alert crawler)"
FETCH_TIMEOUT = 10.0
MAX_FETCH_BYTES = 8_000_000


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "extract",
        help="read price, availability and identity from a saved product page (or a live URL)",
        description="Print one JSON object per page: name, price, currency, availability, "
                    "regular_price, sku, gtin, source.",
    )
    p.add_argument("page", nargs="?", help="an HTML file, or an http(s) URL to fetch live")
    p.add_argument("--url", help="the page's URL (helps with currency and variant choice)")
    p.add_argument("--currency", help="the store's default currency (ISO 4217)")
    p.add_argument("--manifest", help="a JSONL file of {\"path\": ..., \"url\": ...} lines")
    p.add_argument("--encoding", help="force a character encoding for saved pages")
    p.add_argument("--page-kind", action="store_true", help="also print page_kind and notes")
    p.set_defaults(handler=run_extract)
    return p


def _result(extraction, with_kind: bool) -> dict:
    out = extraction.to_json()
    if with_kind:
        out["page_kind"] = extraction.page_kind
        out["notes"] = list(extraction.notes)
    return out


def fetch(url: str) -> tuple[bytes, str | None]:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.5"})
    with urllib.request.urlopen(req, timeout=FETCH_TIMEOUT) as resp:  # noqa: S310 - http(s) only, checked
        body = resp.read(MAX_FETCH_BYTES)
        charset = resp.headers.get_content_charset()
    return body, charset


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
            body, charset = fetch(page)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            print(f"pricehound extract: cannot fetch {page}: {exc}", file=sys.stderr)
            return 1
        ex = extract_product(body, args.url or page, default_currency=currency,
                             encoding=getattr(args, "encoding", None) or charset)
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
    print(json.dumps(_result(ex, with_kind), ensure_ascii=False))
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
                ex = extract_product(body, item.get("url"), default_currency=item.get("currency") or currency,
                                     encoding=item.get("encoding") or encoding)
                out = {"path": path, **_result(ex, with_kind)}
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
