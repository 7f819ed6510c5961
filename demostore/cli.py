"""``python -m demostore`` and the ``pricehound demo-store`` subcommand."""

from __future__ import annotations

import argparse
import json
import sys
import threading

from .catalogue import demo_catalogue, make_catalogue


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stores", type=int, default=None,
                   help="serve a generated catalogue with this many stores (default: the demo)")
    p.add_argument("--products", type=int, default=None,
                   help="products per generated store (default 50)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated catalogue")
    p.add_argument("--faults", type=float, default=0.0, metavar="SHARE",
                   help="share of generated products with a fault status (0..1)")
    p.add_argument("--no-faults", action="store_true",
                   help="demo catalogue without its gone/failing products")
    p.add_argument("--churn", type=float, default=0.0, metavar="SECONDS",
                   help="change one price or stock level every SECONDS (0: never)")
    p.add_argument("--slow-delay", type=float, default=3.0, help="seconds a 'slow' product waits")
    p.add_argument("--timeout-hold", type=float, default=60.0,
                   help="seconds a 'timeout' product holds the connection")
    p.add_argument("--duration", type=float, default=0.0,
                   help="stop after this many seconds (default: run until Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    from .churn import Churner
    from .server import DemoStoreServer

    if args.stores is None and args.products is None:
        catalogue = demo_catalogue(faults=not args.no_faults, script_shop=True)
    else:
        catalogue = make_catalogue(args.stores or 3, args.products or 50, args.seed,
                                   fault_share=args.faults)
    server = DemoStoreServer(catalogue, slow_delay=args.slow_delay, timeout_hold=args.timeout_hold)
    churner = Churner(server, args.churn, seed=args.seed).start() if args.churn > 0 else None
    print(json.dumps({"stores": server.base_urls(), "admin": server.admin_url(),
                      "products": sum(len(s.products) for s in catalogue)}), flush=True)
    done = threading.Event()
    try:
        done.wait(args.duration if args.duration > 0 else None)
    except KeyboardInterrupt:
        pass
    finally:
        if churner is not None:
            churner.stop()
        server.stop()
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``demo-store`` to the pricehound command line."""
    p = subparsers.add_parser("demo-store", help="serve the local demo stores on 127.0.0.1",
                              description="Serve demo online stores on 127.0.0.1 (one port per "
                              "store) and print their base URLs as one JSON line.")
    add_arguments(p)
    p.set_defaults(handler=run)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demostore",
                                     description="Serve demo online stores on 127.0.0.1.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
