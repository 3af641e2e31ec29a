"""m3w-builder core library: plain Python stages (no Beam imports) from web pages to shards."""

__version__ = "0.1.0"
