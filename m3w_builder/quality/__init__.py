"""Quality: paragraph/document rules, language id, opt-out signals, block lists, MinHash and the pre-pass."""
