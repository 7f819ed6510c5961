"""pricehound's shared kernel: configuration, database, embedded servers and the command line."""

__version__ = "0.1.0"
