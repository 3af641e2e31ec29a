"""Shared fixtures: the real third-party material in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when the material is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test material not present: {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def fresh_interpreter() -> Iterator[Callable[..., Any]]:
    """Runs `fn(*args)` in one spawned interpreter that never runs a pipeline, for the tests that
    trace memory: on CPython 3.11, tracemalloc segfaults (1 run in 3 here) when it traces while the
    C threads a finished FnApiRunner pipeline leaves behind (gRPC's) allocate, and any earlier test
    in this process may have run one. `fn` must be a module-level function."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield lambda fn, *args: pool.submit(fn, *args).result()


LOCAL_JOB = ["--direct_num_workers=1", "--no_http"]  # no network here: media come from the crawl or fail


@pytest.fixture(scope="session")
def m3w_dataset(tmp_path_factory) -> Path:
    """The M3W job run once on the embedded sample crawl (shared by the tests that only read it)."""
    from m3w_builder.demo.crawl import write_sample_crawl
    from pipelines.m3w import run

    crawl = write_sample_crawl(tmp_path_factory.mktemp("sample-crawl"))
    out = tmp_path_factory.mktemp("m3w-dataset")
    run(["--input", str(crawl), "--output", str(out), *LOCAL_JOB])
    return out


@pytest.fixture(scope="session")
def sample_output(request, tmp_path_factory):
    """`sample_output(kind)`: the output folder of a job run on its embedded sample ('m3w' is
    `m3w_dataset`; 'align', 'ltip', 'vtp' in one shard each), built once per session."""
    built: dict[str, Path] = {}

    def build(kind: str) -> Path:
        if kind == "m3w":
            return request.getfixturevalue("m3w_dataset")
        if kind not in built:
            from pipelines.pairs import run

            out = tmp_path_factory.mktemp(f"sample-{kind}") / kind
            run(["--source", kind, "--output", str(out), *LOCAL_JOB, "--no_report"])
            built[kind] = out
        return built[kind]

    return build


@pytest.fixture(scope="session", params=["align", "ltip", "vtp"])
def pair_dataset(request, sample_output) -> Path:
    """The pairs job's output on each source's embedded default input."""
    return sample_output(request.param)
