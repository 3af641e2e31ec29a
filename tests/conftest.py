"""Shared fixtures: the real third-party material in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

from pathlib import Path

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
def sample_output(tmp_path_factory):
    """`sample_output(kind)`: the output folder of a job run on its embedded sample ('m3w', 'align',
    'ltip' or 'vtp'), offline, one worker, built once per session for every reader test."""
    built: dict[str, Path] = {}

    def build(kind: str) -> Path:
        if kind not in built:
            out = tmp_path_factory.mktemp(f"sample-{kind}") / kind
            if kind == "m3w":
                from m3w_builder.demo.crawl import write_sample_crawl
                from pipelines.m3w import run

                crawl = write_sample_crawl(out.parent / "crawl")
                run(["--input", str(crawl), "--output", str(out), "--direct_num_workers=1", "--no_http", "--no_report"])
            else:
                from pipelines.pairs import run

                run(["--source", kind, "--output", str(out), "--no_http", "--direct_num_workers=1", "--no_report"])
            built[kind] = out
        return built[kind]

    return build


@pytest.fixture(scope="session")
def m3w_dataset(sample_output) -> Path:
    """The M3W job's output on the embedded sample crawl."""
    return sample_output("m3w")


@pytest.fixture(scope="session", params=["align", "ltip", "vtp"])
def pair_dataset(request, sample_output) -> Path:
    """The pairs job's output on each source's embedded default input."""
    return sample_output(request.param)
