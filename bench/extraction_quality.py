"""Extraction quality on the labelled real pages (../shared/realpages).

Runs `python -m spiders.cli extract --manifest` in a subprocess over every labelled page and
compares with the labels:

- price: precision / recall / F1.  A price counts when it equals the label as a decimal.  A price
  predicted where the label is null is a false positive; null where the label has one is a false
  negative; a wrong price is both.
- availability: micro-averaged precision / recall / F1 over the pages; an "unknown" prediction is
  an abstention (never a true positive, never a false positive); a label "unknown" answered with a
  definite value is a false positive; a wrong or abstained answer on a labelled page is a false
  negative.
- currency accuracy: over pages whose label has a price.
- baseline: a naive structured-data-only reader (the first JSON-LD / microdata offer's price and
  availability, through extruct, nothing else), scored the same way; ratio = price F1 / baseline.

Usage:  .venv/bin/python bench/extraction_quality.py [--pages DIR] [--quiet]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PAGES = os.path.join(os.path.dirname(ROOT), "shared", "realpages")


def dec(v):
    if v is None:
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def score_prices(pairs):
    tp = fp = fn = 0
    for pred, gold in pairs:
        p, g = dec(pred), dec(gold)
        if p is not None and g is not None and p == g:
            tp += 1
            continue
        if p is not None:
            fp += 1
        if g is not None:
            fn += 1
    return _prf(tp, fp, fn)


def score_availability(pairs):
    tp = fp = fn = 0
    for pred, gold in pairs:
        pred = pred or "unknown"
        if pred != "unknown":
            if pred == gold:
                tp += 1
            else:
                fp += 1
        if gold != "unknown" and pred != gold:
            fn += 1
    return _prf(tp, fp, fn)


def _prf(tp, fp, fn):
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4)}


# ---------------------------------------------------------------- baseline

def baseline_extract(body: bytes, url: str | None):
    """First JSON-LD / microdata Product offer: price and availability, nothing else."""
    import extruct
    from w3lib.encoding import html_to_unicode

    from spiders.extraction.availability import map_availability

    _enc, text = html_to_unicode(None, body)
    try:
        data = extruct.extract(text, base_url=url, syntaxes=["json-ld", "microdata"], uniform=True, errors="ignore")
    except Exception:  # noqa: BLE001
        return None, "unknown"
    items = []
    for syntax in ("json-ld", "microdata"):
        stack = list(data.get(syntax) or [])
        while stack:
            it = stack.pop(0)
            if isinstance(it, list):
                stack.extend(it)
                continue
            if not isinstance(it, dict):
                continue
            if "@graph" in it:
                stack.extend(it["@graph"] if isinstance(it["@graph"], list) else [it["@graph"]])
            t = it.get("@type")
            ts = t if isinstance(t, list) else [t]
            if any(isinstance(x, str) and x.rsplit("/", 1)[-1] == "Product" for x in ts):
                items.append(it)
    for it in items:
        offers = it.get("offers")
        if isinstance(offers, list):
            offers = offers[0] if offers else None
        if not isinstance(offers, dict):
            continue
        price = offers.get("price", offers.get("lowPrice"))
        if isinstance(price, list):
            price = price[0] if price else None
        try:
            amount = Decimal(str(price).replace(",", "").strip()) if price not in (None, "") else None
        except InvalidOperation:
            amount = None
        avail = offers.get("availability")
        if isinstance(avail, list):
            avail = avail[0] if avail else None
        return (str(amount) if amount is not None else None), map_availability(avail)
    return None, "unknown"


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=DEFAULT_PAGES, help="folder with labels.jsonl and pages/")
    ap.add_argument("--quiet", action="store_true", help="only the summary")
    args = ap.parse_args(argv)
    labels_path = os.path.join(args.pages, "labels.jsonl")
    if not os.path.exists(labels_path):
        print(json.dumps({"error": f"no labels at {labels_path}"}))
        return 1
    labels = [json.loads(line) for line in open(labels_path, encoding="utf-8") if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = os.path.join(tmp, "manifest.jsonl")
        with open(manifest, "w", encoding="utf-8") as fh:
            for lab in labels:
                path = os.path.join(args.pages, "pages", lab["id"] + ".html")
                fh.write(json.dumps({"path": path, "url": lab.get("url")}) + "\n")
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "spiders.cli", "extract", "--manifest", manifest, "--page-kind"],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        print(json.dumps({"error": f"extract exited {proc.returncode}"}))
        return 1
    outputs = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(outputs) != len(labels):
        print(json.dumps({"error": f"{len(outputs)} outputs for {len(labels)} pages"}))
        return 1

    sys.path.insert(0, ROOT)
    price_pairs, avail_pairs, base_price_pairs, base_avail_pairs = [], [], [], []
    currency_ok = currency_n = 0
    wrong = []
    kinds = {}
    for lab, out in zip(labels, outputs, strict=False):
        pred_price = out.get("price")
        price_pairs.append((pred_price, lab["price"]))
        avail_pairs.append((out.get("availability"), lab["availability"]))
        kinds[out.get("page_kind")] = kinds.get(out.get("page_kind"), 0) + 1
        if lab["price"] is not None:
            currency_n += 1
            currency_ok += out.get("currency") == lab["currency"]
        with open(os.path.join(args.pages, "pages", lab["id"] + ".html"), "rb") as fh:
            bp, ba = baseline_extract(fh.read(), lab.get("url"))
        base_price_pairs.append((bp, lab["price"]))
        base_avail_pairs.append((ba, lab["availability"]))
        problems = []
        if dec(pred_price) != dec(lab["price"]):
            problems.append(f"price {pred_price} != {lab['price']}")
        if (out.get("availability") or "unknown") != lab["availability"]:
            problems.append(f"availability {out.get('availability')} != {lab['availability']}")
        if lab["price"] is not None and out.get("currency") != lab["currency"]:
            problems.append(f"currency {out.get('currency')} != {lab['currency']}")
        if problems:
            wrong.append({"id": lab["id"], "problems": problems, "source": out.get("source"),
                          "notes": out.get("notes")})

    price = score_prices(price_pairs)
    avail = score_availability(avail_pairs)
    base_price = score_prices(base_price_pairs)
    base_avail = score_availability(base_avail_pairs)
    if not args.quiet:
        print("pages the chain gets wrong (predicted != expected):")
        for w in wrong:
            print(f"  {w['id']:<16} {'; '.join(w['problems'])}  [source={w['source']}]")
        print(f"price        P={price['precision']:.3f} R={price['recall']:.3f} F1={price['f1']:.3f}  "
              f"(baseline F1={base_price['f1']:.3f})")
        print(f"availability P={avail['precision']:.3f} R={avail['recall']:.3f} F1={avail['f1']:.3f}  "
              f"(baseline F1={base_avail['f1']:.3f}; micro-averaged, unknown = abstention)")
        print(f"currency accuracy {currency_ok}/{currency_n}; page kinds {kinds}; "
              f"{len(labels)} pages in {elapsed:.2f}s ({elapsed / len(labels) * 1000:.1f} ms/page incl. startup)")
    summary = {
        "pages": len(labels),
        "price_precision": price["precision"], "price_recall": price["recall"], "price_f1": price["f1"],
        "availability_precision": avail["precision"], "availability_recall": avail["recall"],
        "availability_f1": avail["f1"], "availability_averaging": "micro",
        "currency_accuracy": round(currency_ok / currency_n, 4) if currency_n else None,
        "baseline_price_f1": base_price["f1"], "baseline_availability_f1": base_avail["f1"],
        "ratio": round(price["f1"] / base_price["f1"], 3) if base_price["f1"] else None,
        "wrong_pages": [w["id"] for w in wrong],
        "seconds": round(elapsed, 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
