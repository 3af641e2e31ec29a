"""Output: byte-reproducible WebDataset shards, the MMC4 export and report.html."""
