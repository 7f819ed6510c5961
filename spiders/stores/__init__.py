"""One module per store spider, named after the spider (``stores.spider`` in the database)."""
