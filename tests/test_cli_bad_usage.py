"""Bad usage of the reader CLIs (`show`, `export_hf`): one line on stderr and exit 2, no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from m3w_builder import export_hf, show
from tests.conftest import shared_path


@pytest.fixture
def corrupt(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "dataset.json").write_text('{"shardlist": [{"url": "x.tar", "nsamples": 5}]')  # cut short
    return folder


@pytest.mark.parametrize("argv", [
    lambda d, t: (show.main, [str(d), "0"]),
    lambda d, t: (export_hf.main, [str(d), str(t / "export")]),
    lambda d, t: (export_hf.main, [str(d), str(t / "export"), "--rows_per_file", "0"]),
])
def test_a_corrupt_folder_or_a_zero_size_is_one_line(corrupt, tmp_path, capsys, argv):
    main, args = argv(corrupt, tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(args)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "export").exists()


def _one_line_exit(capsys, main, args) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("job", ["m3w", "pairs"])
@pytest.mark.parametrize("extra", [["--bogus", "3"], ["stray"], ["--direct-num-workers", "2"]])
def test_a_flag_neither_the_job_nor_beam_knows_stops_the_job(tmp_path, capsys, job, extra):
    """Beam drops flags it does not know with a log line and runs: a misspelt flag would silently
    run the job with its default. The job refuses it before anything is written."""
    from pipelines import m3w, pairs

    main, base = {"m3w": (m3w.run, []), "pairs": (pairs.run, ["--source", "ltip"])}[job]
    err = _one_line_exit(capsys, main, base + ["--output", str(tmp_path / "out"), *extra])
    assert "unrecognized arguments: " + " ".join(extra) in err
    assert not (tmp_path / "out").exists()


def test_beam_flags_still_pass_through():
    from pipelines.config import unknown_beam_flags

    flags = ["--runner", "DataflowRunner", "--project", "p", "--region", "r", "--temp_location", "gs://b/t",
             "--direct_num_workers=2", "--experiments", "use_runner_v2", "--setup_file", "./setup.py"]
    assert unknown_beam_flags(flags) == []
    assert unknown_beam_flags(flags + ["--max_num_workerz", "3"]) == ["--max_num_workerz", "3"]


def test_a_usage_error_is_one_line_naming_the_module():
    """argparse would print the whole usage, then `__main__.py: error: ...`."""
    done = subprocess.run([sys.executable, "-m", "m3w_builder.extract"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "python -m m3w_builder.extract: error: the following arguments are required: page (--help lists the flags)"]


@pytest.mark.parametrize("make", [lambda t: t / "missing.html", lambda t: t])
def test_the_extract_cli_names_a_page_it_cannot_read(tmp_path, capsys, make):
    from m3w_builder.extract.__main__ import main

    err = _one_line_exit(capsys, main, [str(make(tmp_path))])
    assert str(make(tmp_path)) in err


@pytest.mark.parametrize("flags,message", [
    (["--samples_per_shard", "0"], "--samples_per_shard 0: must be at least 1"),
    (["--vocab_size", "10"], "--vocab_size 10: must be at least 1024"),  # sentencepiece failed the job
    (["--jpeg_quality", "101"], "--jpeg_quality 101: must be at most 100"),
    (["--max_tokens", "0"], "--max_tokens 0: must be at least 8"),
    (["--min_doc_images", "-1"], "--min_doc_images -1: must be at least 0"),
    (["--near_dup_threshold", "1.5"], "--near_dup_threshold 1.5: must be at most 1"),
    (["--min_doc_images", "9", "--max_doc_images", "3"], "--min_doc_images 9 is above --max_doc_images 3"),
    (["--min_window_images", "6"], "--min_window_images 6 is above --max_images 5"),
    (["--near_dup_threshold", "nan"], "--near_dup_threshold nan: must be a finite number"),  # ran with no dedup
    (["--http_socket_timeout", "inf"], "--http_socket_timeout inf: must be a finite number"),
    (["--http_backoff=-inf"], "--http_backoff -inf: must be a finite number"),
    (["--samples_per_shard", str(10**20)], f"--samples_per_shard {10**20}: must be at most {2**63 - 1}"),
])
def test_numbers_no_m3w_run_can_honour_stop_the_job_before_it_starts(tmp_path, flags, message):
    """They ran (a shard per sample, a traceback from sentencepiece, JPEGs at quality 101...)."""
    from pipelines import m3w

    with pytest.raises(SystemExit) as stopped:
        m3w.run(["--output", str(tmp_path / "out"), *flags])
    assert str(stopped.value) == f"python -m pipelines.m3w: error: {message}"
    assert not (tmp_path / "out").exists()


def test_every_default_is_within_the_range_its_option_declares():
    from m3w_builder.options import out_of_bounds
    from pipelines.config import JobConfig
    from pipelines.pairs import PairsOptions

    assert out_of_bounds(JobConfig(inputs=["x"], output="y")) is None
    assert out_of_bounds(PairsOptions(source="ltip", output="y")) is None


_CONFIGS = {  # name: (file content, or None for a FIFO; a word the one line must hold)
    "broken.yaml": (b"seed: [1, 2\n", "flow sequence"),
    "list.json": (b"[1, 2]", "holds a list"),
    "list.yaml": (b"- 1\n- 2\n", "holds a list"),
    "unsafe.yaml": (b'seed: !!python/object:os.system ["true"]\n', "constructor"),
    "fifo.toml": (None, "a FIFO"),
}


@pytest.mark.parametrize("job", ["m3w", "pairs"])
@pytest.mark.parametrize("name", sorted(_CONFIGS))
def test_a_config_that_is_no_table_of_flags_is_one_line(tmp_path, capsys, job, name):
    """A YAML syntax error or a top level that is a list ended in a traceback; a FIFO stalled the
    launcher before the job started (and `/dev/zero` filled its memory)."""
    import os

    from pipelines import m3w, pairs

    content, word = _CONFIGS[name]
    config = tmp_path / name
    if content is None:
        os.mkfifo(config)
    else:
        config.write_bytes(content)
    main, base = {"m3w": (m3w.run, []), "pairs": (pairs.run, ["--source", "ltip"])}[job]
    err = _one_line_exit(capsys, main, base + ["--output", str(tmp_path / "out"), "--config", str(config)])
    assert f"--config: {config}" in err or f"--config {config}" in err
    assert word in err and not (tmp_path / "out").exists()


def test_a_config_that_is_a_device_is_refused_unread(tmp_path, capsys):
    from pipelines import m3w

    err = _one_line_exit(capsys, m3w.run, ["--output", str(tmp_path / "out"), "--config", "/dev/zero"])
    assert "a character device, not a plain file" in err


@pytest.mark.parametrize("job", ["m3w", "pairs"])
@pytest.mark.parametrize("flags", [
    ["--input", "https://alice:s3cr3tpw@data.commoncrawl.org/crawl-data/x.warc.gz"],
    ["--input", "in.warc", "--input", "s3://alice:s3cr3tpw@bucket/x.warc.gz"],
    ["--input", "in.warc", "--http_proxy", "http://alice:s3cr3tpw@proxy.test:3128"],
    ["--input", "in.warc", "--media_cache", "https://alice:s3cr3tpw@cache.test/c"],
    ["--input", "in.warc", "--config", "creds.yaml"],
])
def test_a_url_flag_with_a_password_is_refused_without_echoing_it(tmp_path, capsys, job, flags):
    """A password in --input was printed back in Beam's "Unable to get filesystem" error; one in
    --cc_base or --http_proxy went into dataset.json and the card, and was never sent."""
    from pipelines import m3w, pairs

    (tmp_path / "in.warc").write_bytes(b"")
    (tmp_path / "creds.yaml").write_text("mirror_dir: ftp://alice:s3cr3tpw@mirror.test/m\n")
    flags = [str(tmp_path / f) if f in ("in.warc", "creds.yaml") else f for f in flags]
    main, base = {"m3w": (m3w.run, []), "pairs": (pairs.run, ["--source", "ltip"])}[job]
    with pytest.raises(SystemExit) as stopped:
        main(base + ["--output", str(tmp_path / "out"), *flags])
    err = str(stopped.value) + capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "a URL with a user name or password (user:password@) is refused" in err
    assert "***@" in err and "s3cr3tpw" not in err and "alice" not in err and not (tmp_path / "out").exists()


def test_a_cc_base_with_a_password_is_refused():
    from pipelines import m3w

    with pytest.raises(SystemExit) as stopped:
        m3w.run(["--input", "warc.paths", "--cc_base", "https://u:pw@data.commoncrawl.org/", "--output", "/nonexistent"])
    assert "--cc_base https://***@data.commoncrawl.org/: a URL with a user name" in str(stopped.value)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("job", ["m3w", "pairs"])
def test_an_output_folder_another_running_job_holds_is_refused_untouched(tmp_path, job):
    """Two jobs on one --output ran at once: the second deleted the first one's temporary files,
    wrote its shards over the first one's and published a dataset.json describing neither."""
    from pipelines import checks, m3w, pairs

    out = tmp_path / "out"
    out.mkdir()
    temporary = out / ".m3w-000000.tar.tmp-1234abcd"  # the running job's file being written
    temporary.write_bytes(b"half a shard")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / checks.LOCK_NAME).write_text(f"{holder.pid} {__import__('socket').gethostname()}\n")
        main, base = {"m3w": (m3w.run, ["--input", str(shared_path("warc", "pywb-2.10.0", "example.warc"))]),
                      "pairs": (pairs.run, ["--source", "ltip", "--input", str(tmp_path / "l.jsonl")])}[job]
        (tmp_path / "l.jsonl").write_text('{"url": "http://a.test/1.jpg", "caption": "a red bicycle on a wall"}\n')
        with pytest.raises(SystemExit) as stopped:
            main(base + ["--output", str(out), "--no_http", "--direct_num_workers=1"])
        assert f"another job (pid {holder.pid}) is writing this folder" in str(stopped.value)
        assert "\n" not in str(stopped.value)
        assert temporary.read_bytes() == b"half a shard" and (out / checks.LOCK_NAME).exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.timeout(300)
def test_the_lock_of_a_job_that_died_is_taken_over_and_removed_at_the_end(tmp_path):
    from pipelines import checks, m3w

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    (out / checks.LOCK_NAME).write_text(f"{dead.pid} {__import__('socket').gethostname()}\n")
    dataset = m3w.run(["--input", str(shared_path("warc", "pywb-2.10.0", "example.warc")), "--output", str(out),
                       "--no_http", "--direct_num_workers=1", "--no_report", "--allow_empty",
                       "--min_doc_images", "0", "--min_window_images", "0"])
    assert dataset["stats"]["read/n_archives"] == 1 and not (out / checks.LOCK_NAME).exists()


@pytest.mark.parametrize("flags,message", [
    (["--languages", "EN"], "--languages EN: not a language code"),  # kept no page: labels are lower case
    (["--languages", "en,eng"], "--languages eng: not a language code"),
    (["--image_formats", "jpeg"], "--image_formats jpeg: not a format this job decodes"),  # every image dropped
    (["--http_allow", "http://10.0.0.5"], "--http_allow http://10.0.0.5: not an IP, a CIDR network or a host name"),
    (["--http_allow", "mirror.internal:8080"], "--http_allow mirror.internal:8080: not an IP"),
    (["--http_allow", "10.0.0.0/33"], "--http_allow 10.0.0.0/33: not an IP"),
    (["--http_proxy", "proxy.internal:3128/x"], "--http_proxy proxy.internal:3128/x: not host:port"),
    (["--http_proxy", "proxy.internal:99999"], "--http_proxy proxy.internal:99999: Port out of range"),
    (["--http_allowed_types", "Image/"], "--http_allowed_types Image/: no sniffed type starts so"),  # every fetch refused
    (["--http_allowed_types", "image/", "--http_allowed_types", "images/"], "--http_allowed_types images/: no sniffed"),
    (["--http_allowed_types", "jpeg"], "--http_allowed_types jpeg: no sniffed type starts so"),
])
def test_values_that_could_never_match_stop_the_job_before_it_starts(tmp_path, flags, message):
    """Each ran to an empty dataset or refused every fetch: a misspelt code or name matches nothing."""
    from pipelines import m3w

    err = _job_error(m3w.run, ["--input", _page(tmp_path), "--output", str(tmp_path / "out"), *flags])
    assert err.startswith(f"python -m pipelines.m3w: error: {message}"), err
    assert not (tmp_path / "out").exists()


def test_the_options_users_give_most_still_start():
    from m3w_builder.media.fetch import FetchOptions
    from m3w_builder.media.images import DEFAULT_FORMATS, ImageOptions
    from m3w_builder.quality.options import QualityOptions

    FetchOptions(allow=("10.0.0.0/8", "127.0.0.1", "::1", "mirror.internal", "Mirror.Internal."),
                 proxy="http://127.0.0.1:3128")
    FetchOptions(proxy="proxy.internal:3128")
    FetchOptions(allowed_types=("image/", "video/mp4", "application/pdf", "text/html", "image"))
    ImageOptions(allowed_formats=("JPEG", "ICO", *DEFAULT_FORMATS))
    QualityOptions(languages="en, de,fr,zh")


def _page(folder) -> str:
    """A one-page input (the job's default input, the sample crawl, costs seconds to write)."""
    page = folder / "page.html"
    page.write_text("<html><body><p>One paragraph of text.</p></body></html>")
    return str(page)


def _job_error(main, args) -> str:
    """The one line a job exits with (its `SystemExit` message, printed by Python on exit)."""
    with pytest.raises(SystemExit) as stopped:
        main(args)
    message = str(stopped.value)
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    return message


_SIDE_FILES = {  # flag: {case: (file content, or None for a FIFO; words the one line must hold)}
    "--url_map": {
        "bad_json": (b'{"file": "a.html", "url": "https://a.example/"}\n{"file": "b.html", "url": \n', "line 2"),
        "no_file": (b'{"url": "https://a.example/"}\n', 'line 1: not a JSON object with a string "file"'),
        "list": (b'["a.html", "https://a.example/"]\n', 'line 1: not a JSON object'),
        "url_number": (b'\n{"file": "a.html", "url": 7}\n', 'line 2: "url" is not a string'),
        "url_no_scheme": (b'{"file": "a.html", "url": "a.example/post.html"}\n', 'line 1: "url" \'a.example/post.html\' '
                          'is no absolute http(s) URL'),
        "url_no_host": (b'{"file": "a.html", "url": "https:a.example/x"}\n', "is no absolute http(s) URL"),
        "url_spaced": (b'{"file": "a.html", "url": " https://a.example/x"}\n', "is no absolute http(s) URL"),
        "url_file": (b'{"file": "a.html", "url": "file:///tmp/a.html"}\n', "is no absolute http(s) URL"),
        "named_twice": (b'{"file": "a.html", "url": "https://a.example/1"}\n{"file": "a.html", "url": '
                        b'"https://a.example/2"}\n', "line 2: names 'a.html' again, with other values"),
        "fifo": (None, "a FIFO"),
    },
    "--blocklist": {
        "bad_url": (b"spam.example\n# comment\nhttp://[bad/path\n", "line 3: Invalid IPv6 URL"),
        "fifo": (None, "a FIFO"),
    },
    "--tokenizer": {
        "empty": (b"", "empty file: not a sentencepiece model"),
        "garbage": (b"\x08\x96\x01garbage that is no model", "not a sentencepiece model"),
        "fifo": (None, "a FIFO"),
    },
}


@pytest.mark.parametrize("flag,case", [(f, c) for f, cases in _SIDE_FILES.items() for c in cases])
def test_a_side_file_a_worker_could_not_use_stops_the_job_before_it_starts(tmp_path, flag, case):
    """Workers load these whole in their setup: a bad line failed every worker with a traceback (the
    job lost after its start) and a FIFO stalled them."""
    import os

    from pipelines import m3w

    content, words = _SIDE_FILES[flag][case]
    path = tmp_path / f"side-{case}"
    if content is None:
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    err = _job_error(m3w.run, ["--input", _page(tmp_path), "--output", str(tmp_path / "out"), flag, str(path)])
    assert err.startswith(f"python -m pipelines.m3w: error: {flag}") and words in err, err
    assert not (tmp_path / "out").exists()


def test_a_url_map_the_pairs_job_could_not_use_stops_it_before_it_starts(tmp_path):
    from pipelines import pairs

    path = tmp_path / "map.jsonl"
    path.write_bytes(b'{"file": "a.html"}\nnot json\n')
    err = _job_error(pairs.run, ["--source", "align", "--input", _page(tmp_path), "--output", str(tmp_path / "out"),
                                 "--url_map", str(path)])
    assert err.startswith("python -m pipelines.pairs: error: --url_map") and "line 2" in err, err
    assert not (tmp_path / "out").exists()


def test_a_media_cache_that_is_a_file_stops_the_job(tmp_path):
    from pipelines import m3w

    cache = tmp_path / "cache"
    cache.write_bytes(b"x")
    err = _job_error(m3w.run, ["--input", _page(tmp_path), "--output", str(tmp_path / "out"),
                               "--media_cache", str(cache)])
    assert err == f"python -m pipelines.m3w: error: --media_cache {cache}: a file, not a folder (every write to it would fail)"


def _stop_message(capsys, main, args) -> str:
    """The one line a job stops with: its `SystemExit` message, or what argparse wrote (exit 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(args)
    message = stopped.value.code if isinstance(stopped.value.code, str) else capsys.readouterr().err.strip()
    assert stopped.value.code != 0 and len(message.splitlines()) == 1 and "Traceback" not in message, message
    return message


def _list(folder) -> str:
    listing = folder / "list.csv"
    listing.write_text("url,caption\nhttp://a.test/1.jpg,a red bird on a tree\n")
    return str(listing)


@pytest.mark.parametrize("flags, message", [
    (["--output", ""], "--output '': an empty value"),  # the working directory: its README.md overwritten
    (["--output", "  "], "--output '  ': an empty value"),
    (["--prefix", "a/b"], "--prefix 'a/b': not a plain file-name part"),  # shards in a subfolder the shard list misnamed
    (["--prefix", "../up"], "--prefix '../up': not a plain file-name part"),  # shards written outside --output
    (["--prefix", "*"], "--prefix '*': not a plain file-name part"),  # `*-*` is what a rerun deletes
    (["--prefix", ".hidden"], "--prefix '.hidden': not a plain file-name part"),
    (["--url_col", ""], "--url_col '': an empty value"),  # every row `no_url_column`
    (["--caption_col", " "], "--caption_col ' ': an empty value"),
    (["--mirror_dir", ""], "--mirror_dir '': an empty value"),  # silently no mirror
    (["--media_input", ""], "--media_input '': an empty value"),
    (["--caption_col", "url"], "--url_col and --caption_col both name 'url'"),  # every caption its URL
    (["--extra_cols", "tag,,x"], "--extra_cols 'tag,,x': an empty column name"),
    (["--list_encoding", "rot13"], "--list_encoding 'rot13': no text encoding"),  # every list error_LookupError
    (["--list_encoding", "bogus"], "--list_encoding 'bogus': no text encoding"),  # silently detected instead
    (["--list_encoding", ""], "--list_encoding '': an empty value"),  # silently detected
    (["--list_encoding", "utf-16"], "--list_encoding 'utf-16': a wide encoding"),  # rows cut mid-character
])
def test_names_no_pairs_run_can_use_stop_it_before_it_starts(tmp_path, monkeypatch, capsys, flags, message):
    """Each of these ran: into the working directory, outside or beside the output, or to a
    dataset of `no_url_column` rows or captions that were URLs."""
    from pipelines import pairs

    monkeypatch.chdir(tmp_path)
    args = ["--source", "ltip", "--input", _list(tmp_path), "--output", str(tmp_path / "out"), *flags]
    err = _stop_message(capsys, pairs.run, args)
    assert err.startswith(f"python -m pipelines.pairs: error: {message}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.csv"]  # nothing written, here or in out/


@pytest.mark.parametrize("flags, message", [
    (["--output", ""], "--output '': an empty value"),
    (["--prefix", "../up"], "--prefix '../up': not a plain file-name part"),
    (["--prefix", ""], "--prefix '': an empty value"),
    (["--tokenizer", ""], "--tokenizer '': an empty value"),  # silently trained one instead
    (["--url_map", " "], "--url_map ' ': an empty value"),
    (["--cc_base", ""], "--cc_base '': an empty value"),  # Common Crawl paths made relative
    (["--blocklist", ""], "--blocklist '': an empty value"),
    (["--media_cache", ""], "--media_cache '': an empty value"),
])
def test_names_no_m3w_run_can_use_stop_it_before_it_starts(tmp_path, monkeypatch, capsys, flags, message):
    from pipelines import m3w

    monkeypatch.chdir(tmp_path)
    err = _stop_message(capsys, m3w.run, ["--input", _page(tmp_path), "--output", str(tmp_path / "out"), *flags])
    assert err.startswith(f"python -m pipelines.m3w: error: {message}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


@pytest.mark.parametrize("job", ["m3w", "pairs"])
def test_an_input_inside_the_output_folder_is_refused_untouched(tmp_path, job):
    """`--overwrite` deletes `{prefix}-*` in the output: an input named so was deleted with the old
    shards (`ltip-urls.csv`), and `--output .` beside its list overwrote the folder's README.md."""
    from pipelines import m3w, pairs

    out = tmp_path / "out"
    out.mkdir()
    if job == "pairs":
        source = out / "ltip-urls.csv"
        source.write_text("url,caption\nhttp://a.test/1.jpg,a red bird on a tree\n")
        main, base = pairs.run, ["--source", "ltip", "--input", str(source)]
    else:
        source = out / "m3w-pages.html"
        source.write_text("<html><body><p>One paragraph of text.</p></body></html>")
        main, base = m3w.run, ["--input", str(out / "*.html")]
    (out / "README.md").write_text("my notes")
    err = _job_error(main, [*base, "--output", str(out), "--overwrite"])
    assert f"--input {source}: inside --output {out}" in err
    assert sorted(p.name for p in out.iterdir()) == ["README.md", source.name]
    assert (out / "README.md").read_text() == "my notes"


def _damaged_m3w_folder(folder):
    """An M3W output folder of 4 windows: two whole, one json that is a list, one with a null text."""
    import io
    import json as json_module

    from PIL import Image

    from m3w_builder import ShardWriter

    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture, "JPEG")

    def meta(key: str, **changes) -> bytes:
        return json_module.dumps({"key": key, "doc_id": key, "url": f"http://a.test/{key}", "window": {"index": 0},
                                  "text": "A red square<EOC><image>in a picture.<EOC>", "input_ids": [],
                                  "images": [{"index": 0, "kind": "image", "member": "0.jpg",
                                              "src": f"http://a.test/{key}.jpg"}], **changes}).encode()

    samples = [("good1", meta("good1")), ("listed", b"[1, 2]"), ("nulltext", meta("nulltext", text=None)),
               ("good2", meta("good2"))]
    folder.mkdir()
    with open(folder / "m3w-000000-0000.tar", "wb") as handle:
        writer = ShardWriter(handle)
        for key, data in samples:
            writer.add_sample(key, [("json", data), ("0.jpg", picture.getvalue())])
        writer.close()
    (folder / "dataset.json").write_text(json_module.dumps({"format": "m3w-builder", "version": 1, "kind": "m3w",
                                                            "shardlist": [{"url": "m3w-000000-0000.tar",
                                                                           "nsamples": len(samples)}]}))
    return folder


def test_the_exporters_skip_and_count_a_damaged_sample_and_show_names_it(tmp_path, capsys):
    """One window whose json was a list or whose text was null ended export_hf and mmc4 with a
    traceback (TypeError, AttributeError: nothing written), and `show` of any later index too."""
    import pyarrow.parquet as parquet

    from m3w_builder.output import mmc4

    folder = _damaged_m3w_folder(tmp_path / "m3w")
    assert export_hf.main([str(folder), str(tmp_path / "hf")]) == 0
    err = capsys.readouterr().err
    assert "skipped damaged sample listed: sample listed: json is a list" in err
    assert "skipped damaged sample nulltext: AttributeError" in err and "2 damaged samples skipped" in err
    rows = parquet.read_table(tmp_path / "hf" / "data").to_pylist()
    assert [r["key"] for r in rows] == ["good1", "good2"]
    assert mmc4.main([str(folder), str(tmp_path / "mmc4"), "--min_shards", "1"]) == 0
    assert "2 damaged samples skipped" in capsys.readouterr().err
    _paths, counts = mmc4.export(folder, tmp_path / "mmc4b", min_shards=1)
    assert (counts["windows"], counts["images"], counts["skipped"]) == (2, 2, 2)
    assert show.main([str(folder), "3"]) == 0  # a damaged sample before it is no matter
    assert "key: good2" in capsys.readouterr().out
    for ref, words in (("1", "json is a list"), ("nulltext", "sample nulltext is damaged")):
        assert words in _one_line_exit(capsys, show.main, [str(folder), ref])


@pytest.mark.parametrize("dataset, words", [
    ([], "a JSON list, not an object"),
    ({"kind": "m3w", "shardlist": "m3w-000000.tar"}, "shardlist is a str, not a list"),
    ({"kind": "m3w", "shardlist": [{"nsamples": 3}]}, "shardlist[0] has no url naming a file in the folder"),
    ({"kind": "m3w", "shardlist": [{"url": 5, "nsamples": 3}]}, "shardlist[0] has no url"),
    ({"kind": "m3w", "shardlist": [{"url": "../../etc/passwd", "nsamples": 3}]}, "shardlist[0] has no url"),
    ({"kind": "m3w", "shardlist": [{"url": "m3w-000000.tar"}]}, "nsamples None is no count"),
    ({"kind": "m3w", "shardlist": [{"url": "m3w-000000.tar", "nsamples": 1}], "tokenizer": {"file": 5}},
     "tokenizer has no file naming a file in the folder"),
])
def test_a_dataset_json_of_the_wrong_shape_is_one_line_in_every_reader(tmp_path, capsys, dataset, words):
    """Each ended show, export_hf, mmc4 and model.train's --data with a traceback (AttributeError,
    KeyError, TypeError), and `../x` read a file outside the folder."""
    import json as json_module

    from m3w_builder.output import mmc4
    from model.data import DataSpec, load_infos

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "dataset.json").write_text(json_module.dumps(dataset))
    for main, args in ((show.main, [str(folder), "0"]), (export_hf.main, [str(folder), str(tmp_path / "hf")]),
                       (mmc4.main, [str(folder), str(tmp_path / "mmc4")])):
        assert words in _one_line_exit(capsys, main, args)
    with pytest.raises(SystemExit) as stopped:
        load_infos([DataSpec("m3w", folder)])
    assert words in str(stopped.value) and len(str(stopped.value).splitlines()) == 1


def test_a_tokenizer_the_dataset_json_names_but_lacks_is_one_line_for_the_trainer(tmp_path):
    import json as json_module

    from model.data import DataSpec, load_infos

    (tmp_path / "dataset.json").write_text(json_module.dumps({"kind": "m3w", "shardlist": [
        {"url": "m3w-000000.tar", "nsamples": 1}], "tokenizer": {"file": "tokenizer.model"}}))
    with pytest.raises(SystemExit) as stopped:  # FileNotFoundError traceback, from hashing it
        load_infos([DataSpec("m3w", tmp_path)])
    assert "names tokenizer 'tokenizer.model', which is not there" in str(stopped.value)


@pytest.mark.parametrize("job", ["m3w", "pairs"])
@pytest.mark.parametrize("prefix", ["../outside", "sub/m3w", "*", "m3w?", "a\x00b", "-", "..", ".hidden", "a b",
                                    "a\\b", "x" * 201])
def test_a_prefix_that_is_no_file_name_part_stops_the_job_before_it_starts(tmp_path, job, prefix):
    """`--prefix ../outside` wrote every shard beside --output, `*` made --overwrite delete every
    file of --output with a dash in its name, a NUL failed the job once it had read everything."""
    from pipelines import m3w, pairs

    main, extra = (m3w.run, []) if job == "m3w" else (pairs.run, ["--source", "ltip"])
    out = tmp_path / "out"
    err = _job_error(main, ["--input", _page(tmp_path), "--output", str(out), "--prefix", prefix, *extra])
    assert err.startswith(f"python -m pipelines.{job}: error: --prefix {prefix!r}: not a plain file-name part"), err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_prefixes_of_file_name_parts_still_start():
    from pipelines import checks

    for prefix in ("m3w", "align", "M3W_2024-10", "obelics.v2", "données", "c4+img", "x" * 200):
        checks.check_prefix(prefix)


@pytest.mark.parametrize("job", ["m3w", "pairs"])
@pytest.mark.parametrize("flag, value", [("--user_agent", "m3w\r\nX-Injected: 1"), ("--user_agent", "bot\x00"),
                                         ("--user_agent", "робот/1.0"), ("--user_agent_contact", "https://a.test/\n")])
def test_a_user_agent_that_is_no_header_value_stops_the_job_before_it_starts(tmp_path, job, flag, value):
    """http.client refused such a header in every request: each fetch of the job failed, counted as
    robots_unreachable (the server's fault); a NUL went on the wire."""
    from pipelines import m3w, pairs

    main, extra = (m3w.run, []) if job == "m3w" else (pairs.run, ["--source", "ltip"])
    out = tmp_path / "out"
    err = _job_error(main, ["--input", _page(tmp_path), "--output", str(out), flag, value, *extra])
    assert err.startswith(f"python -m pipelines.{job}: error: {flag} {value!r}: not an HTTP header value"), err
    assert not out.exists()


def test_user_agents_of_printable_ascii_still_start():
    from m3w_builder.media.fetch import FetchOptions

    FetchOptions(user_agent="Mozilla/5.0 (compatible; m3w-builder/0.1; +https://example.org/bot)",
                 contact_url="mailto:crawl@example.org")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_output_named_with_a_glob_character_is_refused_before_it_deletes_other_datasets(tmp_path, capsys):
    """The job finds the files it cleans, resumes and deletes by name pattern under --output, and
    Beam cannot quote a glob character: `--overwrite` on `run[12]` deleted `run1`'s dataset."""
    from pipelines import pairs

    argv = ["--source", "ltip", "--no_http", "--direct_num_workers=1"]
    pairs.run([*argv, "--output", str(tmp_path / "run1")])
    shutil.copytree(tmp_path / "run1", tmp_path / "run[12]")
    before = _files(tmp_path / "run1")
    err = _stop_message(capsys, pairs.run, [*argv, "--output", str(tmp_path / "run[12]"), "--overwrite",
                                            "--samples_per_shard", "10"])
    assert err.startswith(f"python -m pipelines.pairs: error: --output {tmp_path / 'run[12]'}: holds a glob "
                          "character"), err
    assert _files(tmp_path / "run1") == before


@pytest.mark.parametrize("name", ["out*", "out?", "out[1]"])
def test_an_m3w_output_named_with_a_glob_character_is_refused(tmp_path, capsys, name):
    from pipelines import m3w

    err = _stop_message(capsys, m3w.run, ["--input", _page(tmp_path), "--output", str(tmp_path / name)])
    assert err.startswith(f"python -m pipelines.m3w: error: --output {tmp_path / name}: holds a glob character")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_overwrite_with_another_prefix_removes_the_earlier_datasets_shards(tmp_path):
    """`--overwrite` removed the earlier dataset by this run's prefix: with `--prefix` changed, the
    old shards stayed beside the new ones, and a glob over the folder (as `datasets` and
    webdataset users read it) gave both datasets."""
    from pipelines import pairs

    out = tmp_path / "out"
    argv = ["--source", "ltip", "--no_http", "--direct_num_workers=1", "--output", str(out)]
    pairs.run(argv)
    assert list(out.glob("ltip-*.tar"))
    dataset = pairs.run([*argv, "--prefix", "other", "--overwrite"])
    assert sorted(p.name for p in out.glob("*.tar")) == sorted(s["url"] for s in dataset["shardlist"])
    assert not list(out.glob("*ltip-*"))
    # a dataset.json naming a prefix no run could use is never a pattern to delete by
    (out / "keep-me.txt").write_text("not the job's")
    described = json.loads((out / "dataset.json").read_text())
    described["options"]["prefix"] = "*"
    (out / "dataset.json").write_text(json.dumps(described))
    pairs.run([*argv, "--overwrite"])
    assert (out / "keep-me.txt").exists()


def test_a_key_read_from_a_shard_is_never_a_path_out_of_the_images_folder(tmp_path, capsys):
    """A parquet shard's key column may hold anything: `show --save_images DIR` wrote the sample
    keyed `../../../outside` to `outside.jpg` three folders above DIR; a null key was 'None'."""
    import pyarrow as pa
    import pyarrow.parquet as parquet

    from pipelines import pairs

    folder = tmp_path / "deep" / "er" / "data"
    pairs.run(["--source", "ltip", "--no_http", "--direct_num_workers=1", "--output_format", "parquet",
               "--output", str(folder)])
    shard = folder / "ltip-000000.parquet"
    table = parquet.read_table(shard)
    rows = table.to_pylist()
    good = [i for i, r in enumerate(rows) if r["status"] == "success"]
    rows[good[0]]["key"], rows[good[1]]["key"] = "../../../outside", None
    parquet.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    images = folder / "images"
    for index in ("0", "1"):
        err = _one_line_exit(capsys, show.main, [str(folder), index, "--save_images", str(images)])
        assert "its key is no sample key" in err, err
    assert not (tmp_path / "outside.jpg").exists() and not images.exists()
    assert show.main([str(folder), "2", "--save_images", str(images)]) == 0
    assert [p.name for p in images.iterdir()] == [f"{rows[good[2]]['key']}.jpg"]
    assert export_hf.main([str(folder), str(tmp_path / "hf")]) == 0
    assert "2 damaged samples skipped" in capsys.readouterr().err
