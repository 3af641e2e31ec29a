"""Samples: marker text, the sentencepiece tokenizer, windows of L tokens / N images, and shard samples."""
