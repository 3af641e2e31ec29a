"""Quiet by default: a local job run as a user runs it (a subprocess, worker processes) prints no
Beam log on stderr, in particular not the WARN protobuf dumps its workers relay; `-v` shows them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
DUMP = "No semi_persistent_directory found"  # what every multi-process worker logs at start


def _job(tmp_path: Path, name: str, *flags: str) -> subprocess.Popen:
    image = shared_path("images", "pillow-tests", "hopper.jpg")
    listing = tmp_path / f"{name}.csv"
    listing.write_text(f"url,caption\n{image},a portrait photo of a woman wearing a feathered hat\n")
    cmd = [sys.executable, "-m", "pipelines.pairs", "--source", "ltip", "--input", str(listing), "--output",
           str(tmp_path / name), "--no_http", "--no_report", "--min_shards", "1", "--direct_num_workers=1",
           "--direct_running_mode=multi_processing", *flags]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_default_run_is_quiet_and_verbose_shows_beam_logs(tmp_path):
    quiet, verbose = _job(tmp_path, "quiet"), _job(tmp_path, "verbose", "-v")  # side by side: half the wait
    (out, err), (_, verbose_err) = quiet.communicate(timeout=120), verbose.communicate(timeout=120)
    assert quiet.returncode == 0 and verbose.returncode == 0, err + verbose_err
    assert err == "" and re.search(r"\n  pairs +kept 1\n", out)
    assert DUMP in verbose_err and "INFO:apache_beam" in verbose_err
