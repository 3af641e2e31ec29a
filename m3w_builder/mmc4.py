"""CLI: `python -m m3w_builder.mmc4 M3W_DATASET_DIR EXPORT_DIR` (the exporter lives in `m3w_builder.output.mmc4`)."""

import sys

from m3w_builder.output.mmc4 import main

if __name__ == "__main__":
    sys.exit(main())
