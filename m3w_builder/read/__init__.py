"""Read: input files → web records (WARC/ARC archives, HTML files) and pair lists (parquet/csv/jsonl)."""
