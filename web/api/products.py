"""The catalogue: search products, compare one across stores, and /go to a store's page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from pricehound import catalog, comparison, products
from web.api.models import OfferOut, ProductDetailOut, ProductOut
from web.deps import CurrentUser, WatchId, app_state, optional_user
from web.productdata import click_through, record_search

router = APIRouter(tags=["products"])


def _product_out(p: products.Product) -> ProductOut:
    return ProductOut(id=p.id, name=p.name, brand=p.brand, category=p.category, mpn=p.mpn, image_url=p.image_url,
                      gtins=list(p.gtins), listings=p.listings)


def _offer_out(o: comparison.Offer) -> OfferOut:
    return OfferOut(listing_id=o.listing_id, store=o.store, store_name=o.store_name, go_url=f"/go/{o.listing_id}",
                    title=o.title, price=o.price, currency=o.currency, availability=o.availability,
                    lowest_90d=o.lowest_90d, observed_at=o.observed_at, converted_price=o.converted_price,
                    cheapest=o.cheapest, link_method=o.link_method,
                    link_confidence=None if o.link_confidence is None else float(o.link_confidence))


@router.get("/v1/products", response_model=list[ProductOut], summary="Search the catalogue")
def search(request: Request, user: CurrentUser,
           q: str = Query("", max_length=200, description="words of the name or brand, or a GTIN"),
           limit: int = Query(20, ge=1, le=100)) -> list[ProductOut]:
    """Best matches first. A search is recorded as demand for what it finds (crawl priority)."""
    if catalog.control_character(q) is not None:
        raise HTTPException(422, "q must not contain control characters")
    with app_state(request).engine.begin() as conn:
        found = products.search(conn, q, limit=limit)
        if q.strip():
            record_search(conn, user.user_id, q.strip(), found)
    return [_product_out(p) for p in found]


@router.get("/v1/products/{product_id}", response_model=ProductDetailOut, summary="One product at every store",
            responses={404: {"description": "no such product"}})
def read(product_id: WatchId, request: Request, user: CurrentUser,
         currency: str | None = Query(None, pattern="^[A-Za-z]{3}$",
                                      description="compare in this currency (others converted with loaded rates)")
         ) -> ProductDetailOut:
    """Each store's current price, availability and 90-day low, and the strictly cheapest offer
    one can buy now. Prices in other currencies are converted with the operator's rates; without
    a rate they are not compared, and ``note`` says so."""
    with app_state(request).engine.connect() as conn:
        try:
            p = products.get(conn, product_id)
        except catalog.InputError:
            raise HTTPException(404, "There is no product with that id.") from None
        comp = comparison.compare(conn, p.id, currency=currency.upper() if currency else None)
    return ProductDetailOut(**_product_out(p).model_dump(), currency=comp.currency, note=comp.note,
                            cheapest=_offer_out(comp.cheapest) if comp.cheapest else None,
                            offers=[_offer_out(o) for o in comp.offers])


@router.get("/go/{listing_id}", include_in_schema=False)
def go(listing_id: WatchId, request: Request) -> Response:
    """Open a store's page: redirects only to the listing's own stored URL (never to anything the
    request names), recording the click as demand for the listing."""
    user = optional_user(request)
    with app_state(request).engine.begin() as conn:
        url = click_through(conn, listing_id, user.user_id if user else None)
    if url is None:
        raise HTTPException(404, "There is no such product page.")
    return RedirectResponse(url, status_code=303, headers={"Referrer-Policy": "no-referrer",
                                                            "Cache-Control": "no-store"})
