"""Local online stores on 127.0.0.1 for pricehound's tests, benchmarks and demo.

    from demostore import DemoStoreServer, demo_catalogue

    with DemoStoreServer(demo_catalogue()) as shops:
        url = shops.product_url("voltmarkt", "3001")     # http://127.0.0.1:<port>/produkt/...
        shops.set_product("voltmarkt", "3001", price="999.00", availability="out_of_stock")
        shops.served_log(), shops.change_log()            # the oracle

Each store listens on its own port. Product URLs per shape: shopify ``/products/<handle>``
(plus ``.js`` and ``.json``), woocommerce ``/product/<handle>/`` (plus the Store API,
``/wp-json/wc/store/v1/products?slug=<handle>``), magento ``/<handle>.html`` (plus GraphQL,
``/graphql?query={products(filter:{url_key:{eq:"<handle>"}})...}``),
opengraph ``/shop/<handle>``, plain ``/p/<id>/<handle>``, german ``/produkt/<handle>-<id>``,
app ``/item/<handle>`` (an app shell; its script reads ``/api/products/<handle>``).
Every store also serves ``/``, ``/search?q=``, ``/category/<name>``, ``/robots.txt``,
``/sitemap.xml``, ``/private/...`` and the admin API under ``/_admin/``: ``GET catalogue``,
``GET|POST products/<store>/<id>``, ``POST reset``, ``GET log?since=``, ``GET changes?since=``,
``GET|POST config``.

``demostore.proxy.DemoProxy`` is a forwarding proxy on 127.0.0.1 (HTTP, CONNECT and SOCKS5, with
optional credentials, or one that hangs up at once) for the proxy tests.
"""

from .catalogue import (
    AVAILABILITIES,
    FAST_FAULTS,
    SCRIPT_SHAPES,
    SHAPES,
    STATUSES,
    Product,
    Store,
    demo_catalogue,
    make_catalogue,
    script_store,
)
from .churn import Churner
from .server import DemoStoreServer

__all__ = [
    "AVAILABILITIES",
    "FAST_FAULTS",
    "SCRIPT_SHAPES",
    "SHAPES",
    "STATUSES",
    "Churner",
    "DemoStoreServer",
    "Product",
    "Store",
    "demo_catalogue",
    "make_catalogue",
    "script_store",
]
