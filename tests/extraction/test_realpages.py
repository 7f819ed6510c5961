"""Quality floor on the labelled real pages (../shared/realpages): price and availability F1
must not fall below what the chain reaches today.  A floor, not a timing."""

import json
import sys
from pathlib import Path

import pytest

from .conftest import REALPAGES

PRICE_F1_FLOOR = 0.98
AVAILABILITY_F1_FLOOR = 0.96


@pytest.fixture(scope="module")
def results():
    labels_path = REALPAGES / "labels.jsonl"
    if not labels_path.exists():
        pytest.skip(f"real pages not present at {REALPAGES}")
    from spiders.extraction import extract_product

    labels = [json.loads(x) for x in labels_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    out = []
    for lab in labels:
        body = (REALPAGES / "pages" / f"{lab['id']}.html").read_bytes()
        ex = extract_product(body, lab.get("url"))
        out.append((lab, {**ex.to_json(), "page_kind": ex.page_kind}))
    return out


def _bench():
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "bench"))
    import extraction_quality

    return extraction_quality


def test_price_f1_floor(results):
    q = _bench()
    score = q.score_prices([(o["price"], lab["price"]) for lab, o in results])
    assert score["f1"] >= PRICE_F1_FLOOR, score


def test_availability_f1_floor(results):
    q = _bench()
    score = q.score_availability([(o["availability"], lab["availability"]) for lab, o in results])
    assert score["f1"] >= AVAILABILITY_F1_FLOOR, score


def test_currency_is_right_wherever_a_price_is_labelled(results):
    priced = [(lab, o) for lab, o in results if lab["price"] is not None]
    right = sum(o["currency"] == lab["currency"] for lab, o in priced)
    assert right / len(priced) >= 0.97


# A product page read as no product is reported "removed": the listing page detector must not
# take one for a grid.  postlight-01 (a Japanese e-book page whose price sits in a linked tile
# beside the cover) is the one labelled page still read as no product.
KNOWN_NOT_PRODUCT = {"postlight-01"}


def test_labelled_product_pages_are_product_pages(results):
    wrong = sorted(lab["id"] for lab, o in results if o["page_kind"] != "product")
    assert set(wrong) <= KNOWN_NOT_PRODUCT, wrong
