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
- OutOfStock F1: precision / recall / F1 of the out_of_stock answer alone (the answer that mails
  a "sold out"): a page read out_of_stock that is not is a false positive, a labelled
  out_of_stock page read otherwise a false negative.
- currency accuracy: over pages whose label has a price.
- page kinds: the extraction's kind against the label's (listing and not_found -> gone, blocked
  -> challenge, maintenance -> unrecognised), and what a crawl would record.
- per source (the id prefix: the repository the pages came from) the same figures, so a rule
  that helps one source and hurts another shows; and how often each rule decided each field.
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


def score_class(pairs, cls: str):
    """Precision / recall / F1 of one answer (e.g. out_of_stock) alone."""
    tp = fp = fn = 0
    for pred, gold in pairs:
        if pred == cls and gold == cls:
            tp += 1
        elif pred == cls:
            fp += 1
        elif gold == cls:
            fn += 1
    return _prf(tp, fp, fn)


def _f1_or_none(score: dict) -> float | None:
    """F1, or None where there was nothing to score (a source of listings has no prices)."""
    return score["f1"] if score["tp"] + score["fp"] + score["fn"] else None


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# What the extraction's page_kind should be for each labelled kind.
EXPECTED_KIND = {"product": "product", "listing": "gone", "not_found": "gone", "blocked": "challenge",
                 "maintenance": "unrecognised"}


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
    observations = {}
    rule_counts: dict[str, dict[str, int]] = {}
    kind_wrong = []
    per_source: dict[str, dict] = {}
    for lab, out in zip(labels, outputs, strict=False):
        src = per_source.setdefault(lab["id"].split("-")[0], {"price": [], "availability": [], "currency": [0, 0],
                                                              "kind_wrong": 0})
        src["price"].append((out.get("price"), lab["price"]))
        src["availability"].append((out.get("availability"), lab["availability"]))
        if lab["price"] is not None:
            src["currency"][0] += out.get("currency") == lab["currency"]
            src["currency"][1] += 1
        if out.get("page_kind") != EXPECTED_KIND.get(lab["page_kind"]):
            kind_wrong.append(lab["id"])
            src["kind_wrong"] += 1
        obs = f"{out.get('observation')}:{out.get('reason')}" if out.get("reason") else out.get("observation")
        observations[obs] = observations.get(obs, 0) + 1
        for field, rule in (out.get("rules") or {}).items():
            rule_counts.setdefault(field, {})
            rule_counts[field][rule] = rule_counts[field].get(rule, 0) + 1
        pred_price = out.get("price")
        price_pairs.append((pred_price, lab["price"]))
        avail_pairs.append((out.get("availability"), lab["availability"]))
        kind = out.get("page_kind") + (f"/{out['page_reason']}" if out.get("page_reason") else "")
        kinds[kind] = kinds.get(kind, 0) + 1
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
        if out.get("page_kind") != EXPECTED_KIND.get(lab["page_kind"]):
            problems.append(f"kind {out.get('page_kind')}/{out.get('page_reason')} != {lab['page_kind']}")
        if problems:
            wrong.append({"id": lab["id"], "problems": problems, "source": out.get("source"),
                          "notes": out.get("notes")})

    price = score_prices(price_pairs)
    avail = score_availability(avail_pairs)
    oos = score_class(avail_pairs, "out_of_stock")
    sources = {}
    for name, src in sorted(per_source.items()):
        n_cur = src["currency"][1]
        sources[name] = {
            "pages": len(src["price"]), "price_f1": _f1_or_none(score_prices(src["price"])),
            "availability_f1": _f1_or_none(score_availability(src["availability"])),
            "out_of_stock_f1": _f1_or_none(score_class(src["availability"], "out_of_stock")),
            "currency_accuracy": round(src["currency"][0] / n_cur, 4) if n_cur else None,
            "kind_wrong": src["kind_wrong"],
        }
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
        print(f"out_of_stock P={oos['precision']:.3f} R={oos['recall']:.3f} F1={oos['f1']:.3f}  "
              f"(tp={oos['tp']} fp={oos['fp']} fn={oos['fn']})")
        print("per source:  pages  price F1  avail F1  OOS F1  currency  kind wrong")
        for name, f in sources.items():
            cells = [_cell(f[k]) for k in ("price_f1", "availability_f1", "out_of_stock_f1", "currency_accuracy")]
            print(f"  {name:<13} {f['pages']:>4}    {cells[0]:>5}     {cells[1]:>5}    {cells[2]:>5}   {cells[3]:>6}   "
                  f"{f['kind_wrong']}")
        print("rules that decided each field (pages):")
        for field in sorted(rule_counts):
            counts = ", ".join(f"{r} {n}" for r, n in sorted(rule_counts[field].items(), key=lambda x: -x[1]))
            print(f"  {field}: {counts}")
        print(f"observations a crawl would record: {observations}")
        print(f"currency accuracy {currency_ok}/{currency_n}; page kinds {kinds}; "
              f"{len(labels)} pages in {elapsed:.2f}s ({elapsed / len(labels) * 1000:.1f} ms/page incl. startup)")
    summary = {
        "pages": len(labels),
        "price_precision": price["precision"], "price_recall": price["recall"], "price_f1": price["f1"],
        "availability_precision": avail["precision"], "availability_recall": avail["recall"],
        "availability_f1": avail["f1"], "availability_averaging": "micro",
        "out_of_stock_precision": oos["precision"], "out_of_stock_recall": oos["recall"],
        "out_of_stock_f1": oos["f1"], "page_kind_wrong": kind_wrong, "per_source": sources,
        "rules": rule_counts, "observations": observations,
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
