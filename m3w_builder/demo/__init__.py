"""Demo inputs: the embedded, byte-reproducible sample crawl and pair lists (not part of the core flow)."""
