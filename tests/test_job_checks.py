"""Loud errors before Beam starts (one line, non-zero exit), the rerun fingerprint, and flags
that all show their defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import checks, m3w, pairs

ROOT = Path(__file__).resolve().parents[1]


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args, "--direct_num_workers=1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={"NO_GCE_CHECK": "True", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("module,extra", [("pipelines.m3w", []), ("pipelines.pairs", ["--source", "ltip"])])
def test_missing_input_is_one_line_and_non_zero(module, extra, tmp_path):
    done = _cli(module, *extra, "--input", str(tmp_path / "nothing-*.warc.gz"), "--output", str(tmp_path / "out"))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nothing matches" in lines[0] and "Traceback" not in done.stderr


def test_output_that_is_a_file_or_unwritable(tmp_path):
    sample = tmp_path / "page.html"
    sample.write_text("<html><body><p>hi</p></body></html>")
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    with pytest.raises(SystemExit, match="exists and is not a folder"):
        m3w.run(["--input", str(sample), "--output", str(a_file), "--direct_num_workers=1"])
    with pytest.raises(SystemExit, match="not writable"):  # a folder that cannot be created
        m3w.run(["--input", str(sample), "--output", str(a_file / "sub"), "--direct_num_workers=1"])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if _can_write(locked):
            pytest.skip("running as a user that may write anywhere")
        with pytest.raises(SystemExit, match="not writable"):
            pairs.run(["--source", "ltip", "--input", str(sample), "--output", str(locked / "out"),
                       "--direct_num_workers=1"])
    finally:
        locked.chmod(0o700)


def _can_write(folder: Path) -> bool:
    try:
        (folder / ".probe").write_bytes(b"")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def test_missing_filesystem_is_a_usage_error():
    with pytest.raises(checks.UsageError, match="--input s3x://bucket/"):
        checks.input_listing(["s3x://bucket/crawl/*.warc.gz"])


def test_rerun_with_other_options_is_refused_and_overwrite_clears(tmp_path):
    sample = tmp_path / "page.html"
    sample.write_text("<html><body><p>hi</p></body></html>")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("m3w-000000.tar", ".m3w-000000.tar.done", "stats.json"):
        (out / name).write_bytes(b"old")
    options = m3w.config_from_args(m3w.build_parser().parse_args(["--input", str(sample)]), []).to_json()
    (out / "dataset.json").write_text(json.dumps({"fingerprint": "0" * 64, "options": options}))
    with pytest.raises(SystemExit, match=r"built differently \(windows\.max_tokens\); pass --overwrite"):
        m3w.run(["--input", str(sample), "--output", str(out), "--max_tokens", "128", "--direct_num_workers=1"])
    assert (out / "m3w-000000.tar").exists()
    checks.check_rerun(str(out), "1" * 64, options, overwrite=True, prefix="m3w")
    assert sorted(p.name for p in out.iterdir()) == []


def test_fingerprint_ignores_run_only_options_and_sees_inputs():
    base = {"output": "a", "fetch_threads": 4, "windows": {"max_tokens": 256}, "media": {"fetch_threads": 2}}
    moved = {**base, "output": "b", "media": {"fetch_threads": 16}}
    inputs = [["crawl.warc.gz", 100]]
    assert checks.fingerprint(base, inputs) == checks.fingerprint(moved, inputs)
    assert checks.fingerprint(base, inputs) != checks.fingerprint(base, [["crawl.warc.gz", 101]])
    assert checks.changed_options(base, {**base, "windows": {"max_tokens": 128}}) == ["windows.max_tokens"]


@pytest.mark.parametrize("parser", [m3w.build_parser(), pairs.build_parser()])
def test_every_flag_shows_a_default_and_help(parser):
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help and action.help.strip(), action.dest
    text = parser.format_help()
    assert text.count("(default:") >= len([a for a in parser._actions if a.dest != "help" and not a.required])


def test_config_file_keys_are_flag_names_and_flags_override(tmp_path):
    from pipelines.config import parse_job_args

    config = tmp_path / "job.toml"
    config.write_text('max_tokens = 128\nwindow_mode = "random"\nno_http = true\nblocklist = ["a.txt"]\n')
    args, extra = parse_job_args(m3w.build_parser(), ["--config", str(config), "--max_tokens", "64", "--runner=X"])
    cfg = m3w.config_from_args(args, ["in.warc.gz"])
    assert (cfg.windows.max_tokens, cfg.windows.mode, cfg.media.http, cfg.quality.blocklist) == (
        64, "random", False, ("a.txt",))
    assert extra == ["--runner=X"]
    config.write_text("max_tokenz = 1\n")
    with pytest.raises(SystemExit):
        parse_job_args(m3w.build_parser(), ["--config", str(config)])


def test_a_run_where_every_item_failed_exits_non_zero_unless_allowed(tmp_path):
    listing = tmp_path / "list.jsonl"
    listing.write_text("".join(json.dumps({"url": str(tmp_path / f"missing-{i}.jpg"), "caption": "a field at dawn"})
                               + "\n" for i in range(2)))
    args = ["--source", "ltip", "--input", str(listing), "--no_http", "--no_report", "--direct_num_workers=1"]
    with pytest.raises(SystemExit, match="no sample was written"):
        pairs.run([*args, "--output", str(tmp_path / "out")])
    dataset = pairs.run([*args, "--output", str(tmp_path / "out"), "--allow_empty"])
    assert dataset["stats"]["pairs/local_missing"] == 2 and (tmp_path / "out" / "stats.json").exists()
