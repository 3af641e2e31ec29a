"""Checks before Beam starts, and the fingerprint that ties an output folder to what built it.

Bad usage (an input that matches nothing, an output that is a file, unwritable or named by an
empty string or with a glob character, an input or side file inside the output, a shard prefix that is no plain name, a URL flag
with a password in it, a filesystem whose dependency is missing, a media mirror or cache under
an unknown scheme, a local output folder another running job holds, a side file a worker could
not load: `--url_map`, `--blocklist`, `--tokenizer`) stops the job with one line and a non-zero
exit instead of a traceback minutes later or an empty dataset. Values that could never match
(`--languages`, `--image_formats`, `--http_allow`, `--http_proxy`) are refused by their option
classes. The fingerprint covers everything that determines a shard (the options, the tokenizer, the matched
input files and their sizes); it is recorded in dataset.json and next to every finished shard, so
a rerun with other options is refused (or rebuilt with `--overwrite`) and a finished shard is
recognised by its fingerprint, size and md5.
"""

from __future__ import annotations

import argparse
import atexit
import codecs
import contextlib
import hashlib
import json
import os
import re
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from apache_beam.io.filesystems import FileSystems

from m3w_builder.drops import Rejected
from m3w_builder.extract.charset import normalize_label
from m3w_builder.extract.urls import without_userinfo
from m3w_builder.options import out_of_bounds
from m3w_builder.read.local_files import local_file_problem, read_local_file
from m3w_builder.read.url_map import parse_url_map
from m3w_builder.samples.tokenizer import Tokenizer
from pipelines import fs
from pipelines.quality import load_blocklist

# options that change where or how a job runs, not what a shard holds
RUN_ONLY = frozenset(("output", "write_rejects", "report", "overwrite", "allow_empty", "inputs", "media_inputs",
                      "fetch_threads", "media_cache", "retry_failed", "robots_cache_size", "max_idle_connections",
                      "decision_partitions"))


class UsageError(Exception):
    """A one-line reason the job cannot start."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def input_listing(patterns: list[str], flag: str = "--input") -> list[list]:
    """[path, size] of every file the patterns match; an unmatched pattern, or a local path that
    is no plain file (a FIFO a worker would wait on forever, a device, a folder, a broken link), is
    a `UsageError`. A glob's matches are checked as they are read (`read/local_not_a_file`)."""
    listing: list[list] = []
    for pattern in patterns:
        problem = local_file_problem(pattern) if "://" not in pattern and os.path.lexists(pattern) else None
        if problem:
            raise UsageError(f"{flag} {problem[1]}")
        try:
            results = FileSystems.match([pattern])
        except Exception as error:  # a missing filesystem (s3 without boto3), bad credentials, a bad path
            raise UsageError(f"{flag} {pattern}: {_first_line(error)}") from None
        files = [[m.path, m.size_in_bytes] for r in results for m in r.metadata_list]
        if not files:
            raise UsageError(f"{flag} {pattern}: no such file (nothing matches)")
        listing.extend(files)
    return sorted(listing)


def check_bounds(options: Any) -> None:
    """Refuse a number no run can honour (a zero shard size, a negative count, a quality above 100:
    the ranges the option fields declare) with a one-line `UsageError`, before anything is read."""
    problem = out_of_bounds(options)
    if problem:
        raise UsageError(problem)


# A shard name prefix: a file name's first part. A separator, `..` or a glob character made the
# shards land outside --output and --overwrite delete what the pattern matched there.
_PREFIX = re.compile(r"\w[\w.+-]*")
_MAX_PREFIX_BYTES = 200  # a shard's name adds ~20 bytes; file names stop at 255


def check_prefix(prefix: str) -> None:
    """Refuse a `--prefix` that is no plain file-name part (letters, digits, `_`, then also `.+-`),
    with a one-line `UsageError`: `../x` wrote the shards beside --output, `*` made --overwrite
    delete every file of --output with a dash in its name, a NUL failed the job after it had read
    everything, and an empty one named the shards like flags (`-000000-0000.tar`)."""
    if not _PREFIX.fullmatch(prefix) or len(prefix.encode()) > _MAX_PREFIX_BYTES:
        raise UsageError(f"--prefix {prefix!r}: not a plain file-name part (letters, digits and _ first, "
                         f"then also . + -; at most {_MAX_PREFIX_BYTES} bytes)")


def check_output(output: str) -> None:
    """The output must be a writable folder (created if missing) named without glob characters
    (`check_no_glob`); an empty or blank name is no folder (it was the working directory: the
    dataset, its card `README.md` and its rejects were written over whatever was there)."""
    if not output.strip():
        raise UsageError(f"--output {output!r}: names no folder")
    check_no_glob("--output", output)
    if "://" in output:
        try:
            FileSystems.get_filesystem(output)
        except ValueError as error:
            raise UsageError(f"--output {output}: {_first_line(error)}") from None
        return
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--output {output}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-check{fs.TMP_MARK}{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"--output {output}: not writable ({error.strerror or error})") from None


GLOB_CHARACTERS = "*?["  # what Beam's FileSystems.match reads as a pattern (it has no way to quote them)


def check_no_glob(flag: str, folder: str) -> None:
    """A dataset folder's name must hold no glob character: the job finds its files to clean,
    resume and delete by name pattern under it (`{prefix}-*`, `.*.tmp-*`, `rejects/*`), so under
    `run[12]` they matched `run1`'s and `run2`'s, and `--overwrite` deleted another dataset."""
    if any(c in folder for c in GLOB_CHARACTERS):
        raise UsageError(f"{flag} {folder}: holds a glob character ({' '.join(GLOB_CHARACTERS)}); its files are "
                         "found by name pattern under it, which would match other folders")


def check_text_encoding(flag: str, label: str) -> None:
    """An encoding flag must name a text codec that decodes a line on its own: an unknown name
    (`bogus`) was silently replaced by detection, a bytes-to-bytes codec (`rot13`) failed every
    list it was given, and UTF-16/32 cannot decode lines cut at a newline byte (a wide file is
    told by its own bytes)."""
    codec = normalize_label(label)
    if codec is None or not codecs.lookup(codec)._is_text_encoding:
        raise UsageError(f"{flag} {label!r}: no text encoding of this Python")
    if codec.startswith(("utf-16", "utf-32")):
        raise UsageError(f"{flag} {label!r}: a wide encoding (UTF-16/32 lists are told by their own bytes)")


def check_inputs_outside_output(output: str, named: list[tuple[str, str]]) -> None:
    """Refuse a local input or side file (`named`: flag, path) that is the output folder or lies
    inside it: the job writes, cleans and, on `--overwrite` or a retry, deletes files there by
    name pattern (`{prefix}-*`, `rejects/*`, `README.md`, ...), which may name it; a list there
    could be rewritten while it is read."""
    if not fs.is_local(output):
        return
    root = os.path.realpath(output)
    for flag, path in named:
        if not path or not fs.is_local(path):
            continue
        real = os.path.realpath(path)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            raise UsageError(f"{flag} {path}: inside --output {output}, which the job writes and cleans "
                             "(move it out, or choose another --output)")


def refuse_credentials(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a flag value that is a URL with a `user:password@` part: no reader or fetcher sends
    it (a server asking for it would answer 401 on every file), and the options are written into
    dataset.json, the card and the logs, which would publish the password. The message leaves
    the credentials out."""
    flags = {action.dest: action.option_strings[0] for action in parser._actions if action.option_strings}
    for dest, value in vars(args).items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            bare = without_userinfo(item) if isinstance(item, str) else None
            if bare is not None and bare != item:
                scheme, _, rest = bare.partition("://")
                shown = f"{scheme}://***@{rest}"
                raise UsageError(f"{flags.get(dest, '--' + dest)} {shown}: a URL with a user name or password "
                                 "(user:password@) is refused; credentials are never sent, and would be published")


LOCK_NAME = ".job.lock"  # in the output folder while a job writes it: "pid host"
_STALE_EMPTY_S = 60.0  # a lock with no owner written yet is a job starting, unless older than this
_held: list[str] = []  # lock files this process holds


def claim_output(output: str) -> None:
    """Hold a local `--output` folder for this job, or refuse with one line: a second job started
    on it while the first runs deletes the first one's temporary files, writes its shards and
    manifests over the first one's and publishes a dataset.json that does not describe them. A
    lock whose process has ended (killed, crashed) is taken over. Remote folders (gs://, s3://)
    have no exclusive create in Beam's filesystems and are not locked."""
    if not fs.is_local(output):
        return
    path = os.path.join(output, LOCK_NAME)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _lock_owner(path)
            if owner:
                raise UsageError(f"--output {output}: another job ({owner}) is writing this folder; wait for it "
                                 "to end or choose another --output") from None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # the stale lock of a run that ended without removing it
            continue
        except OSError as error:
            raise UsageError(f"--output {output}: not writable ({error.strerror or error})") from None
        with os.fdopen(fd, "w") as lock:
            lock.write(f"{os.getpid()} {socket.gethostname()}\n")
        if not _held:
            atexit.register(release_output)
        _held.append(path)
        return
    raise UsageError(f"--output {output}: its lock {LOCK_NAME} keeps coming back; is another job starting?")


def _lock_owner(path: str) -> str | None:
    """Who holds a lock file, or None when nobody does any more (its process has ended)."""
    try:
        text = Path(path).read_text(errors="replace").split()
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    if len(text) != 2 or not text[0].isdigit():
        return "a job starting" if age < _STALE_EMPTY_S else None
    pid, host = int(text[0]), text[1]
    if host != socket.gethostname():
        return f"pid {pid} on {host}"  # another machine's process cannot be checked from here
    if pid == os.getpid():
        return None  # an earlier run in this process that ended without releasing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return f"pid {pid}"


def release_output() -> None:
    """Remove the locks this process holds (at the end of a job, and at exit)."""
    while _held:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_held.pop())


def check_media_locations(mirror_dir: str | None, media_cache: str | None) -> None:
    """`--mirror_dir` and `--media_cache` must be on a filesystem Beam has (under a scheme it does
    not know, every media URL would quietly come back `not_found`), and a local mirror must be a
    folder. Names only: a dry run touches no storage."""
    for flag, path in (("--mirror_dir", mirror_dir), ("--media_cache", media_cache)):
        if not path:
            continue
        try:
            FileSystems.get_filesystem(path)
        except (ValueError, OSError) as error:  # unknown scheme; a known one whose extra is missing (hdfs)
            raise UsageError(f"{flag} {path}: {_first_line(error)}") from None
    if mirror_dir and fs.is_local(mirror_dir) and not Path(mirror_dir).is_dir():
        raise UsageError(f"--mirror_dir {mirror_dir}: no such folder")
    if media_cache and fs.is_local(media_cache) and Path(media_cache).exists() and not Path(media_cache).is_dir():
        raise UsageError(f"--media_cache {media_cache}: a file, not a folder (every write to it would fail)")


MAX_SIDE_FILE_BYTES = 1 << 30  # every worker holds a side file whole; past this it is no side file


def read_named_file(flag: str, path: str, max_bytes: int = MAX_SIDE_FILE_BYTES) -> bytes:
    """The bytes of the file a flag names, or a one-line `UsageError`: a local FIFO or device is
    refused before a byte is read (it would stall or flood the launcher), as is a missing file or
    a local one over `max_bytes`."""
    try:
        return read_local_file(path, max_bytes) if fs.is_local(path) else fs.read_bytes(path)
    except Rejected as rejected:
        raise UsageError(f"{flag}: {rejected.detail}") from None
    except OSError as error:
        raise UsageError(f"{flag} {path}: {_first_line(error)}") from None


def check_side_files(url_map: str | None, blocklists: tuple[str, ...] = ()) -> None:
    """Parse each side file the workers will load, so a bad line stops the job here with one line
    instead of failing every worker's setup (a traceback, the job lost) after the job started."""
    if url_map:
        try:
            parse_url_map(read_named_file("--url_map", url_map))
        except ValueError as error:
            raise UsageError(f"--url_map {url_map}: {error}") from None
    for path in blocklists:
        problem = local_file_problem(path) if fs.is_local(path) else None  # by stat: a FIFO is never opened
        if problem:
            raise UsageError(f"--blocklist: {problem[1]}")
        try:
            load_blocklist([path])  # read once, decompressed by suffix as the workers read it
        except (OSError, ValueError) as error:  # a bad line; a compressed file that does not decompress
            raise UsageError(f"--blocklist {path}: {_first_line(error)}") from None


def load_tokenizer(path: str) -> bytes:
    """The `--tokenizer` model's bytes, loaded once here: a file that is no sentencepiece model with
    the `<image>`/`<EOC>` symbols would fail every worker mid-job."""
    model = read_named_file("--tokenizer", path)
    try:
        Tokenizer(model)
    except ValueError as error:
        raise UsageError(f"--tokenizer {path}: {_first_line(error)}") from None
    return model


def shard_options(options: dict) -> dict:
    """The options that determine shard contents (nested dicts kept, run-only keys removed)."""
    return {k: shard_options(v) if isinstance(v, dict) else v for k, v in options.items() if k not in RUN_ONLY}


def fingerprint(options: dict, inputs: list[list], tokenizer: bytes | None = None) -> str:
    """sha256 over the shard-determining options, the input files and the given tokenizer."""
    doc = {"options": shard_options(options), "inputs": inputs,
           "tokenizer": hashlib.sha256(tokenizer).hexdigest() if tokenizer else None}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _flatten(options: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(options, dict):
        return {prefix: options}
    out: dict[str, Any] = {}
    for key, value in options.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


def changed_options(old: dict, new: dict) -> list[str]:
    """Dotted names of the shard-determining options that differ."""
    a, b = (_flatten(json.loads(json.dumps(shard_options(o), default=str))) for o in (old, new))  # tuples as lists
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def previous_build(output: str) -> dict | None:
    """The dataset.json of an earlier run into `output`, if any."""
    path = fs.join(output, "dataset.json")
    if not fs.exists(path):
        return None
    try:
        return json.loads(fs.read_bytes(path))
    except ValueError:
        return None


def check_rerun(output: str, print_: str, options: dict, overwrite: bool, prefix: str) -> None:
    """Refuse to mix shards of two configurations: a different fingerprint needs `--overwrite`,
    which removes the earlier dataset first, under the prefix it was built with as well as this
    run's (with `--prefix` changed, its shards stayed beside the new ones, and a glob over the
    folder, as `datasets` and webdataset users read it, gave both)."""
    previous = previous_build(output)
    if previous is None or previous.get("fingerprint") in (None, print_):
        return
    if not overwrite:
        changed = changed_options(previous.get("options", {}), options) or ["inputs or tokenizer"]
        raise UsageError(f"--output {output} holds a dataset built differently ({', '.join(changed[:6])}); "
                         "pass --overwrite to rebuild it, or choose another --output")
    earlier = previous.get("options", {}).get("prefix") if isinstance(previous.get("options"), dict) else None
    for name in {prefix} | ({earlier} if isinstance(earlier, str) and _PREFIX.fullmatch(earlier) else set()):
        remove_dataset(output, name)


def remove_dataset(output: str, prefix: str) -> None:
    """Delete an earlier dataset's shards, their records and its dataset-level files."""
    patterns = [f"{prefix}-*", f".{prefix}-*", f"{prefix}-*/*", "dataset.json", "stats.json", "tokenizer.model",
                "report.html", "rejects/*", "_work"]
    paths = [m.path for p in patterns for r in FileSystems.match([fs.join(output, p)]) for m in r.metadata_list]
    if paths:
        FileSystems.delete(paths)
