"""History retention: old monthly partitions of price_history_log leave the database as files
and can come back.

``archive`` exports each partition whose month ended more than PRICEHOUND_HISTORY_KEEP_MONTHS
whole months before the current one: a gzip CSV (header, every column, ordered by id) and a JSON
manifest beside it (partition, range, columns, row count, SHA-256 of the file). The file is read
back and checked (rows and checksum) before the partition is detached and dropped, in the
transaction that exported it, so a failure at any step leaves the rows in the database.
``restore`` checks a file against its manifest, loads it into a new table, moves any rows of that
month the default partition caught meanwhile, and attaches it again. ``history_archives``
records both.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from psycopg2 import sql
from sqlalchemy.engine import Engine

log = logging.getLogger("pricehound.archive")

PARTITION_RE = re.compile(r"^price_history_log_(\d{4})_(\d{2})$")
FORMAT = "pricehound-history-archive/1"


class ArchiveError(RuntimeError):
    """A file that does not match its manifest, or a partition that cannot come back as asked."""


@dataclass(frozen=True)
class Partition:
    name: str
    range_from: datetime
    range_to: datetime


@dataclass(frozen=True)
class Archived:
    partition: str
    file: Path
    manifest: Path
    rows: int
    sha256: str


PARTITIONS_SQL = sa.text(
    """
    SELECT c.relname AS name,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS range_from,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS range_to
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'price_history_log'::regclass AND c.relname ~ '^price_history_log_[0-9]{4}_[0-9]{2}$'
     ORDER BY range_from
    """
)

# The end of the months kept: the start of the current UTC month, keep_months months back.
CUTOFF_SQL = sa.text(
    "SELECT (date_trunc('month', pricehound_now() AT TIME ZONE 'UTC') "
    "        - make_interval(months => :keep)) AT TIME ZONE 'UTC'"
)


def partitions(conn: sa.Connection) -> list[Partition]:
    """The monthly partitions attached now, oldest first."""
    return [Partition(r.name, r.range_from, r.range_to) for r in conn.execute(PARTITIONS_SQL)]


def due(conn: sa.Connection, keep_months: int) -> list[Partition]:
    """The partitions whose whole month lies before the months kept (none when keep_months is 0)."""
    if keep_months <= 0:
        return []
    cutoff = conn.execute(CUTOFF_SQL, {"keep": int(keep_months)}).scalar_one()
    return [p for p in partitions(conn) if p.range_to <= cutoff]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _count_csv_rows(path: Path) -> int:
    with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        return sum(1 for _ in reader)


def archive_partition(engine: Engine, part: Partition, directory: Path) -> Archived:
    """Export one partition, check the file, then detach and drop the partition; all in one
    transaction holding the partition against writes, so the rows leave only once the file is
    known to hold every one of them."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{part.name}.csv.gz"
    manifest_path = directory / f"{part.name}.json"
    partial = target.with_suffix(".gz.partial")
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.Identifier(part.name)))
            cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'price_history_log'::regclass "
                        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
            columns = [r[0] for r in cur.fetchall()]
            table = sql.Identifier(part.name)
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
            expected = int(cur.fetchone()[0])
            copy = sql.SQL("COPY (SELECT {} FROM {} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), table)
            with gzip.open(partial, "wt", newline="", encoding="utf-8") as out:
                cur.copy_expert(copy.as_string(cur), out)
            written = _count_csv_rows(partial)
            if written != expected:
                raise ArchiveError(f"{part.name}: {expected} rows in the partition but {written} in the file; "
                                   "nothing was detached")
            checksum = _sha256(partial)
            os.replace(partial, target)
            manifest = {
                "format": FORMAT, "table": "price_history_log", "partition": part.name,
                "range_from": part.range_from.isoformat(), "range_to": part.range_to.isoformat(),
                "columns": columns, "rows": expected, "file": target.name, "sha256": checksum,
            }
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
            cur.execute(sql.SQL("ALTER TABLE price_history_log DETACH PARTITION {}").format(table))
            cur.execute(sql.SQL("DROP TABLE {}").format(table))
            cur.execute(
                "INSERT INTO history_archives (partition, range_from, range_to, row_count, sha256, file) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (partition) DO UPDATE SET "
                "range_from = excluded.range_from, range_to = excluded.range_to, row_count = excluded.row_count, "
                "sha256 = excluded.sha256, file = excluded.file, archived_at = pricehound_now(), restored_at = NULL",
                (part.name, part.range_from, part.range_to, expected, checksum, str(target)))
        raw.commit()
    except Exception:
        raw.rollback()
        partial.unlink(missing_ok=True)
        raise
    finally:
        raw.close()
    log.info("history: archived %s (%d rows) to %s", part.name, expected, target)
    return Archived(part.name, target, manifest_path, expected, checksum)


def archive(engine: Engine, keep_months: int, directory: Path) -> list[Archived]:
    """Archive every partition due under ``keep_months``, oldest first."""
    with engine.connect() as conn:
        todo = due(conn, keep_months)
    return [archive_partition(engine, part, directory) for part in todo]


def read_manifest(path: Path) -> tuple[dict, Path]:
    """The manifest and the data file for ``path`` (either the .json or the .csv.gz)."""
    manifest_path = path if path.suffix == ".json" else Path(str(path).removesuffix(".csv.gz") + ".json")
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ArchiveError(f"no manifest {manifest_path} beside the archive: it says which month the rows "
                           "belong to and how many there are") from None
    except ValueError as exc:
        raise ArchiveError(f"{manifest_path} is not a pricehound archive manifest ({exc})") from None
    if manifest.get("format") != FORMAT or not PARTITION_RE.match(str(manifest.get("partition", ""))):
        raise ArchiveError(f"{manifest_path} is not a pricehound history archive manifest")
    return manifest, manifest_path.parent / manifest["file"]


def restore(engine: Engine, path: Path) -> Archived:
    """Bring an archived month back: check the file against its manifest (checksum, rows), load
    it into a new partition, move in the rows of that month written meanwhile, attach it. One
    transaction: a failure leaves the database as it was and the file where it is."""
    manifest, data = read_manifest(path)
    name = manifest["partition"]
    if not data.exists():
        raise ArchiveError(f"the archive's data file {data} is missing")
    checksum = _sha256(data)
    if checksum != manifest["sha256"]:
        raise ArchiveError(f"{data} does not match its manifest (SHA-256 {checksum[:12]}..., expected "
                           f"{manifest['sha256'][:12]}...): it was changed or damaged; nothing was restored")
    rows = _count_csv_rows(data)
    if rows != manifest["rows"]:
        raise ArchiveError(f"{data} holds {rows} rows, its manifest says {manifest['rows']}; nothing was restored")
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
            if cur.fetchone()[0]:
                raise ArchiveError(f"{name} is in the database already; nothing to restore")
            table = sql.Identifier(name)
            cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'price_history_log'::regclass "
                        "AND attnum > 0 AND NOT attisdropped")
            unknown = set(manifest["columns"]) - {r[0] for r in cur.fetchall()}
            if unknown:
                raise ArchiveError(f"the archive has columns price_history_log no longer has: {sorted(unknown)}")
            cur.execute(sql.SQL("CREATE TABLE {} (LIKE price_history_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
                        .format(table))
            copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(
                table, sql.SQL(", ").join(map(sql.Identifier, manifest["columns"])))
            with gzip.open(data, "rt", newline="", encoding="utf-8") as fh:
                cur.copy_expert(copy.as_string(cur), fh)
            cur.execute(sql.SQL("WITH moved AS (DELETE FROM price_history_log_default WHERE observed_at >= %s "
                                "AND observed_at < %s RETURNING *) INSERT INTO {} SELECT * FROM moved").format(table),
                        (manifest["range_from"], manifest["range_to"]))
            moved = cur.rowcount
            cur.execute(sql.SQL("ALTER TABLE price_history_log ATTACH PARTITION {} FOR VALUES FROM (%s) TO (%s)")
                        .format(table), (manifest["range_from"], manifest["range_to"]))
            cur.execute("UPDATE history_archives SET restored_at = pricehound_now() WHERE partition = %s", (name,))
        raw.commit()
    except Exception as exc:
        raw.rollback()
        if isinstance(exc, ArchiveError):
            raise
        first = str(getattr(exc, "pgerror", None) or exc).strip().splitlines()[0]
        raise ArchiveError(f"{name} could not be restored ({first}); the database is as it was") from exc
    finally:
        raw.close()
    log.info("history: restored %s (%d rows from the file, %d written meanwhile)", name, rows, moved)
    return Archived(name, data, path, rows + moved, checksum)


def archived(conn: sa.Connection) -> list[dict]:
    """What history_archives records, oldest month first."""
    return [dict(r._mapping) for r in conn.execute(sa.text(
        "SELECT partition, range_from, range_to, row_count, file, archived_at, restored_at "
        "FROM history_archives ORDER BY range_from"))]


def summary(items: list[Archived]) -> str:
    if not items:
        return "nothing to archive"
    return "\n".join(f"{a.partition}: {a.rows} rows -> {a.file}" for a in items)


def archive_dir(settings) -> Path:  # noqa: ANN001 - pricehound.config.Settings
    """Where archives go by default: history-archive under the data directory."""
    return Path(settings.data_dir) / "history-archive"


# -- command line -------------------------------------------------------------------------------

def cmd_archive(args: argparse.Namespace) -> int:
    from pricehound.config import get_settings
    from pricehound.db import get_engine

    settings = get_settings()
    keep = settings.history_keep_months if args.keep_months is None else args.keep_months
    if keep <= 0:
        print("history retention is off (PRICEHOUND_HISTORY_KEEP_MONTHS=0): give --keep-months N to archive "
              "the months before the last N")
        return 0
    engine = get_engine(settings)
    directory = Path(args.dir) if args.dir else archive_dir(settings)
    if args.dry_run:
        with engine.connect() as conn:
            todo = due(conn, keep)
        print("\n".join(f"would archive {p.name} ({p.range_from:%Y-%m})" for p in todo) or "nothing to archive")
        return 0
    done = []
    with engine.connect() as conn:
        todo = due(conn, keep)
    for i, part in enumerate(todo, 1):
        done.append(archive_partition(engine, part, directory))
        print(f"[{i}/{len(todo)}] {part.name}: {done[-1].rows} rows -> {done[-1].file}")
    if not todo:
        print(f"nothing to archive: no month before the last {keep} is in the database")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pricehound import catalog
    from pricehound.config import get_settings
    from pricehound.db import get_engine

    try:
        got = restore(get_engine(get_settings()), Path(args.file))
    except ArchiveError as exc:
        raise catalog.InputError(str(exc)) from None
    print(f"{got.partition}: {got.rows} rows back in price_history_log")
    return 0


def cmd_archives(args: argparse.Namespace) -> int:
    from pricehound.config import get_settings
    from pricehound.db import get_engine

    with get_engine(get_settings()).connect() as conn:
        rows = archived(conn)
    if args.json:
        for row in rows:
            print(json.dumps(row, default=str))
        return 0
    if not rows:
        print("no month of history has been archived")
    for r in rows:
        state = f"restored {r['restored_at']:%Y-%m-%d}" if r["restored_at"] else "archived"
        print(f"{r['partition']}  {r['row_count']:>10} rows  {state}  {r['file']}")
    return 0


def _history_actions(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The ACTION subparsers of `pricehound history`, shared with the other history commands."""
    parser = sub.choices.get("history") or sub.add_parser("history", help="the price history: archive, restore")
    for action in parser._actions:  # noqa: SLF001 - where argparse keeps a parser's subparsers
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action
    return parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)


def register(sub: argparse._SubParsersAction) -> None:
    actions = _history_actions(sub)
    p = actions.add_parser(
        "archive", help="export months of history older than the months kept to files, and detach them",
        description="Each monthly partition of price_history_log whose month ended before the last "
                    "PRICEHOUND_HISTORY_KEEP_MONTHS whole months is written to a gzip CSV with a JSON "
                    "manifest (rows, SHA-256), checked, then detached from the database. "
                    "`pricehound history restore FILE` brings one back.")
    p.add_argument("--keep-months", type=int, help="months to keep (default: PRICEHOUND_HISTORY_KEEP_MONTHS)")
    p.add_argument("--dir", help="where to write (default: history-archive under the data directory)")
    p.add_argument("--dry-run", action="store_true", help="list what would be archived; change nothing")
    p.set_defaults(handler=cmd_archive)
    p = actions.add_parser("restore", help="attach an archived month again from its file",
                           description="Check FILE (the .csv.gz or its .json manifest) against its manifest, "
                                       "load it into price_history_log as its month's partition again.")
    p.add_argument("file", help="price_history_log_YYYY_MM.csv.gz or .json")
    p.set_defaults(handler=cmd_restore)
    p = actions.add_parser("archives", help="list the months archived and restored")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_archives)


__all__ = ["ArchiveError", "Archived", "Partition", "archive", "archive_partition", "archived", "due",
           "partitions", "read_manifest", "register", "restore"]
