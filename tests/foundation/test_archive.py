"""History retention: old months leave the database as checked files and come back whole."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricehound import archive

HISTORY = sa.text("SELECT id, listing_id, observed_at, price, currency, regular_price, availability, crawl_run_id "
                  "FROM price_history_log ORDER BY id")


@pytest.fixture()
def months(db):
    """A listing with history in three earlier months and this one, each month a partition."""
    with db.begin() as conn:
        conn.execute(sa.text("SELECT ensure_price_history_partitions(1, 4)"))
        store = conn.execute(sa.text("INSERT INTO stores (slug, name, allowed_domains) "
                                     "VALUES ('arch', 'Arch', '{arch.example}') RETURNING id")).scalar_one()
        listing = conn.execute(sa.text("INSERT INTO store_listings (store_id, url) "
                                       "VALUES (:s, 'https://arch.example/p') RETURNING id"), {"s": store}).scalar_one()
        for back, price in ((3, "10.005"), (3, "9.50"), (2, "8.25"), (0, "7.00")):
            conn.execute(sa.text(
                "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
                "VALUES (:l, date_trunc('month', pricehound_now()) - make_interval(months => :b) + interval '3 days', "
                ":p, 'KWD', 'in_stock')"), {"l": listing, "b": back, "p": Decimal(price)})
    return listing


def _rows(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute(HISTORY)]


def test_archive_then_restore_loses_nothing(db, months, tmp_path):
    with db.connect() as conn:
        before = _rows(conn)
        due = [p.name for p in archive.due(conn, keep_months=1)]
    assert len(due) >= 3  # the months before last month

    done = archive.archive(db, keep_months=1, directory=tmp_path)

    assert [a.partition for a in done] == due
    with db.connect() as conn:
        left = _rows(conn)
        recorded = {r["partition"]: r["row_count"] for r in archive.archived(conn)}
        assert archive.due(conn, keep_months=1) == []
    assert len(left) == 1 and left[0] == before[-1]  # only this month stays
    assert sum(a.rows for a in done) == 3 and recorded == {a.partition: a.rows for a in done}
    for item in done:
        manifest = json.loads(item.manifest.read_text())
        assert manifest["rows"] == item.rows and manifest["sha256"] == item.sha256
        with gzip.open(item.file, "rt") as fh:
            assert len(fh.read().splitlines()) == item.rows + 1  # header + rows

    for item in done:
        archive.restore(db, item.manifest if item.rows % 2 else item.file)  # either file names the archive

    with db.connect() as conn:
        assert _rows(conn) == before
        assert all(r["restored_at"] is not None for r in archive.archived(conn))


def test_a_damaged_file_is_refused_and_nothing_changes(db, months, tmp_path):
    done = [a for a in archive.archive(db, keep_months=1, directory=tmp_path) if a.rows]
    item = done[0]
    with gzip.open(item.file, "rt") as fh:
        text = fh.read()
    with gzip.open(item.file, "wt") as fh:
        fh.write(text.replace("in_stock", "out_of_stock", 1))
    with db.connect() as conn:
        before = _rows(conn)
    with pytest.raises(archive.ArchiveError, match="does not match its manifest"):
        archive.restore(db, item.file)
    with db.connect() as conn:
        assert _rows(conn) == before
        assert conn.execute(sa.text("SELECT to_regclass(:p)"), {"p": item.partition}).scalar_one() is None


def test_rows_written_to_an_archived_month_meanwhile_join_it_on_restore(db, months, tmp_path, run_cli):
    archived = run_cli("history", "archive", "--keep-months", "1", "--dir", str(tmp_path))
    assert archived.returncode == 0, archived.stderr
    assert "rows ->" in archived.stdout
    target = next(p for p in sorted(tmp_path.glob("*.json")) if json.loads(p.read_text())["rows"] == 1)
    month = json.loads(target.read_text())
    with db.begin() as conn:  # a late write for that month lands in the default partition
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
            "VALUES (:l, CAST(:t AS timestamptz) + interval '1 day', 1.00, 'KWD', 'out_of_stock')"),
            {"l": months, "t": month["range_from"]})
    restored = run_cli("history", "restore", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "2 rows back" in restored.stdout
    with db.connect() as conn:
        in_default = conn.execute(sa.text("SELECT count(*) FROM price_history_log_default")).scalar_one()
        in_month = conn.execute(sa.text(f'SELECT count(*) FROM "{month["partition"]}"')).scalar_one()
    assert (in_default, in_month) == (0, 2)
    with pytest.raises(archive.ArchiveError, match="already"):
        archive.restore(db, target)


def test_retention_is_off_by_default(db, months, capsys):
    import argparse

    from pricehound.config import get_settings

    assert get_settings().history_keep_months == 0
    with db.connect() as conn:
        assert archive.due(conn, keep_months=0) == []
    args = argparse.Namespace(keep_months=None, dir=None, dry_run=False)
    assert archive.cmd_archive(args) == 0
    assert "retention is off" in capsys.readouterr().out
    with db.connect() as conn:
        assert archive.due(conn, keep_months=1) != []  # nothing was archived
