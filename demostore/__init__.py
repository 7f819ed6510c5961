"""Local online stores on 127.0.0.1 for pricehound's tests, benchmarks and demo.

    from demostore import DemoStoreServer, demo_catalogue

    with DemoStoreServer(demo_catalogue()) as shops:
        url = shops.product_url("voltmarkt", "3001")
        shops.set_product("voltmarkt", "3001", price="999.00")
"""

from .catalogue import (
    AVAILABILITIES,
    FAST_FAULTS,
    SHAPES,
    STATUSES,
    Product,
    Store,
    demo_catalogue,
    make_catalogue,
)
from .churn import Churner
from .server import DemoStoreServer

__all__ = [
    "AVAILABILITIES",
    "FAST_FAULTS",
    "SHAPES",
    "STATUSES",
    "Churner",
    "DemoStoreServer",
    "Product",
    "Store",
    "demo_catalogue",
    "make_catalogue",
]
