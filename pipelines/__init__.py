"""Scrapy item pipelines, one component per module, in the order settings list them:
validate.py (refuse and normalise), postgres_writer.py (batched writes), handoff.py (event ids
to the alert stage after each commit)."""
