"""What a job's worker process imports: every worker imports the job's modules to unpickle its
DoFns, so a heavy module only some paths use is imported where it is used, not by them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_FOR_EVERY_WORKER = ("av", "jinja2", "torch", "transformers")  # video decoding, cards/reports, the model


def test_the_job_modules_leave_heavy_modules_to_the_paths_that_use_them() -> None:
    code = ("import json, sys; import pipelines.m3w, pipelines.pairs, m3w_builder; "
            f"print(json.dumps([m for m in {list(NOT_FOR_EVERY_WORKER)!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NO_GCE_CHECK": "True"})
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_lazily_imported_modules_still_serve_their_paths() -> None:
    from m3w_builder.drops import Rejected
    from m3w_builder.media.video import extract_frames
    from m3w_builder.output import card, report

    assert card.templates().get_template("card.md.j2") is card.templates().get_template("card.md.j2")
    assert report.templates().autoescape and not card.templates().autoescape
    try:
        extract_frames(b"\x00\x00\x00\x18ftypmp42" + bytes(64))  # a cut MP4: PyAV opens and refuses it
    except Rejected as rejected:
        assert rejected.reason in ("decode_error", "no_video_stream", "no_frames")
    else:
        raise AssertionError("a cut MP4 decoded")
