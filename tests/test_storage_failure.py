"""A disk that cannot take the job's files (full, over quota, a file past the size limit,
read-only) under the real pairs job (FnApiRunner): one line and a non-zero exit, what was finished
kept whole, and the same command resuming to a clean run's shards."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from m3w_builder.demo.pairs import write_sample_pairs
from pipelines.pairs import run

ROOT = Path(__file__).resolve().parents[1]
FILE_LIMIT = 50_000  # bytes: under the list's shards (40-113 KB), over its other files


def _md5s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.tar"))}


def _small_files() -> None:
    """In the job's process: files past FILE_LIMIT fail with EFBIG, as a full disk fails with ENOSPC
    (SIGXFSZ ignored, as a process that handles no signals sees it)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


@pytest.mark.timeout(600)
def test_a_disk_that_fills_mid_write_stops_the_job_in_one_line_and_the_rerun_resumes(tmp_path):
    """The job ended in a 108-line traceback of Beam's stages; nothing said what to do."""
    lists, media = write_sample_pairs(tmp_path / "in", "ltip")
    argv = ["--source", "ltip", "--input", *lists, "--media_input", *media, "--no_http", "--samples_per_shard", "20",
            "--direct_num_workers=1"]
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    failed = subprocess.run([sys.executable, "-m", "pipelines.pairs", *argv, "--output", str(out)], check=False,
                            cwd=ROOT, env=env, preexec_fn=_small_files, capture_output=True, text=True, timeout=500)
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr, failed.stderr[-3000:]
    assert failed.stderr.startswith("python -m pipelines.pairs: error: a file of the job could not be written: "
                                    "[Errno 27] File too large (while running WriteShards)")
    for tar in out.glob("*.tar"):  # only whole shards carry a final name
        assert (out / f".{tar.name}.done").is_file()
    run([*argv, "--output", str(out)])
    run([*argv, "--output", str(tmp_path / "clean")])
    assert _md5s(out) == _md5s(tmp_path / "clean") and len(_md5s(out)) >= 4


def test_only_storage_failures_are_named_as_such():
    from pipelines.fs import storage_failure

    full = OSError(28, "No space left on device")
    wrapped = RuntimeError("OSError: [Errno 28] No space left on device [while running 'WriteShards']")
    wrapped.__cause__ = full
    assert storage_failure(wrapped) == "[Errno 28] No space left on device (while running WriteShards)"
    relayed = RuntimeError("Pipeline failed: Traceback ...\nOSError: [Errno 122] Disk quota exceeded\n")
    assert storage_failure(relayed) == "[Errno 122] Disk quota exceeded"  # a worker process's text
    assert storage_failure(FileNotFoundError(2, "No such file or directory")) is None
    assert storage_failure(ValueError("[Errno 2] No such file or directory")) is None
