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
