"""Output: byte-reproducible WebDataset shards and their DALI index, reading a finished output
folder back, the exports (MMC4 for OpenFlamingo, Hugging Face parquet), report.html and the
dataset card."""
