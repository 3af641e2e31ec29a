"""CLI: `python -m m3w_builder.export_hf OUTPUT_DIR EXPORT_DIR` writes Hugging Face parquet in the
OBELICS layout (`m3w_builder.output.hf`), loadable with `datasets.load_dataset("parquet", ...)`."""

from __future__ import annotations

import sys
from pathlib import Path

from m3w_builder.options import ArgumentParser
from m3w_builder.output.dataset import report_skipped
from m3w_builder.output.hf import ROWS_PER_FILE, export


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description="Export an m3w-builder output folder as Hugging Face parquet "
                                                 "(OBELICS layout: interleaved images/texts lists).")
    parser.add_argument("output_dir", type=Path, help="an output folder of any job (with dataset.json)")
    parser.add_argument("export_dir", type=Path, help="where data/train-*.parquet is written")
    parser.add_argument("--rows_per_file", type=int, default=ROWS_PER_FILE,
                        help="rows per parquet file")
    args = parser.parse_args(argv)
    if args.rows_per_file < 1:
        parser.exit(2, f"export_hf: --rows_per_file {args.rows_per_file}: must be at least 1\n")
    skipped: list[tuple[str, str]] = []
    try:
        paths = export(args.output_dir, args.export_dir, args.rows_per_file, skipped)
    except FileNotFoundError as error:
        parser.exit(2, f"export_hf: {error}\n")
    except (OSError, ValueError) as error:  # EXPORT_DIR a file, a corrupt dataset.json or shard
        parser.exit(2, f"export_hf: {type(error).__name__}: {error}\n")
    report_skipped("export_hf", skipped)
    print(f"wrote {len(paths)} parquet files to {args.export_dir / 'data'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
