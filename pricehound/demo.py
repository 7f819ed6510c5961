"""`pricehound demo`: the whole pipeline on the embedded default, end to end."""

from __future__ import annotations

import argparse


def cmd_demo(args: argparse.Namespace) -> int:
    from pricehound import status
    from pricehound.config import get_settings
    from pricehound.db import apply_schema, get_engine

    settings = get_settings()
    engine = get_engine(settings)
    version = apply_schema(engine)
    print(f"embedded PostgreSQL ready, schema version {version}; data in {settings.data_dir}")
    with engine.connect() as conn:
        print(status.render(status.counts(conn)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on a local demo store (what `make demo` runs)")
    p.set_defaults(handler=cmd_demo)
