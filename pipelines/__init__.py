"""Apache Beam jobs: thin wrappers over `m3w_builder` that own options, I/O and metrics."""
