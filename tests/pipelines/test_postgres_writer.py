"""The writer pipeline's connection: opened while the first pages are fetched, never fatal."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from pipelines.postgres_writer import PostgresWriterPipeline
from pricehound.db import normalise_url


def writer(engine: sa.engine.Engine) -> PostgresWriterPipeline:
    return PostgresWriterPipeline(None, 1, batch_size=500, interval=2.0, removed_after=2,
                                  alert_task="pricehound.alerts.evaluate_events", engine=engine)


def test_connecting_ahead_leaves_a_pooled_connection_with_the_batch_table(database_url):
    engine = sa.create_engine(normalise_url(database_url), pool_size=1, max_overflow=0)
    try:
        writer(engine).connect()
        with engine.connect() as conn:  # the one pooled connection: the first flush starts here
            assert conn.connection.info.get("pricehound_crawl_input") is True
            assert conn.execute(sa.text("SELECT count(*) FROM crawl_input")).scalar() == 0
    finally:
        engine.dispose()


def test_a_database_that_does_not_answer_yet_is_a_warning_not_a_failed_crawl(caplog):
    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/pricehound",
                              connect_args={"connect_timeout": 2})
    try:
        with caplog.at_level(logging.WARNING, logger="pricehound.writer"):
            writer(engine).connect()
    finally:
        engine.dispose()
    assert "the first flush will retry" in caplog.text
